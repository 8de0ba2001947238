#!/bin/sh
# Make systemd read the new units; enabling them is the operator's step
# (systemctl enable --now bmsched.socket bmsched.service).
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
