#!/bin/sh
set -e
# Greet the administrator once, on first configuration.
if [ "$1" = configure ] && [ -z "$2" ]; then
  echo "hello is installed: run 'hello' (greeting set in /etc/hello/hello.conf)"
fi
exit 0
