# fleet-agent (rpm %post): a system user, its state directory, the unit known.
getent group fleet-agent >/dev/null || groupadd -r fleet-agent
getent passwd fleet-agent >/dev/null ||
    useradd -r -g fleet-agent -d /var/lib/fleet-agent -M -s /sbin/nologin -c "harmony fleet agent" fleet-agent
install -d -m 0750 -o fleet-agent -g fleet-agent /var/lib/fleet-agent
install -d -m 0700 -o fleet-agent -g fleet-agent /var/lib/fleet-agent/credentials
install -d -m 0700 -o fleet-agent -g fleet-agent /var/lib/fleet-agent/workloads
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    systemctl preset fleet-agent.service >/dev/null 2>&1 || :
fi
