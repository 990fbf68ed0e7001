# fleet-agent (rpm %preun): on erase (not upgrade), stop and disable it.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now fleet-agent.service >/dev/null 2>&1 || :
fi
