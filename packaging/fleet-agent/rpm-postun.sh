# fleet-agent (rpm %postun): reload units; restart on upgrade. The user and
# /var/lib/fleet-agent stay (rpm has no purge).
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then
        systemctl try-restart fleet-agent.service >/dev/null 2>&1 || :
    fi
fi
