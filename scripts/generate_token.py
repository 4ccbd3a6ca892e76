"""Print a JWT signed with SECRET_KEY (the same as `aura token`).

SECRET_KEY=... python scripts/generate_token.py <user_id> [--service] [--admin] [--ttl SECONDS]
"""

from __future__ import annotations

import sys

from aura_server.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["token", *sys.argv[1:]]))
