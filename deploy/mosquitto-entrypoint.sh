#!/bin/sh
# Start mosquitto in a container with the shipped mosquitto.conf: listen on all interfaces, and build
# the password file from the environment (MQTT_INGEST_PASSWORD; MQTT_GATEWAY_USERS as
# "user:password user:password ..."), so no secret is baked into an image or a volume.
set -eu
conf=/etc/wasteroute/mosquitto.conf
run=/tmp/mosquitto.conf
passwd=/etc/mosquitto/wasteroute.passwd
mkdir -p /var/lib/mosquitto
chown mosquitto:mosquitto /var/lib/mosquitto
umask 077
: > "$passwd"
mosquitto_passwd -b "$passwd" wasteroute-ingest "$MQTT_INGEST_PASSWORD"
for pair in ${MQTT_GATEWAY_USERS:-}; do
  mosquitto_passwd -b "$passwd" "${pair%%:*}" "${pair#*:}"
done
chown mosquitto:mosquitto "$passwd"
sed -e 's/^listener 1883 127.0.0.1$/listener 1883 0.0.0.0/' "$conf" > "$run"
exec mosquitto -c "$run"
