#!/bin/sh
# hello: greets the name configured in /etc/hello/hello.conf (or the first argument).
set -e
CONF=/etc/hello/hello.conf
NAME=world
GREETING=Hello
[ -r "$CONF" ] && . "$CONF"
[ -n "$1" ] && NAME=$1
echo "$GREETING, $NAME!"
