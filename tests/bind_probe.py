"""Runs INSIDE a private network namespace as the identity tests/test_privilege_oracle.py
chose (setpriv): binds each (kind, address, port) of argv[1] (JSON) with a fresh socket and
prints the errno of each bind (0: bound) as one JSON list. Nothing is sent anywhere."""
import json, socket, sys
out = []
for kind, ip, port in json.loads(sys.argv[1]):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    try:
        s.bind((ip, port))
        out.append(0)
    except OSError as e:
        out.append(e.errno)
    finally:
        s.close()
print(json.dumps(out))
