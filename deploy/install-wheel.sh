#!/bin/sh
# Install pressbot from a built wheel into a fresh virtual environment, and check that the
# command starts. The Dockerfile's install step; tests/integration/test_wheel.py runs this
# same script outside the checkout, so the image's steps are exercised where no container
# can be built.
#
#   deploy/install-wheel.sh VENV WHEEL [PIP OPTIONS...]
set -eu
if [ "$#" -lt 2 ]; then
    echo "usage: $0 VENV WHEEL [pip options...]" >&2
    exit 2
fi
venv=$1
wheel=$2
shift 2
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet "$@" "$wheel"
"$venv/bin/pressbot" --version
