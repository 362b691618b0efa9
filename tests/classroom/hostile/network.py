"""Phone home: connect to a server the test runs on the host's 127.0.0.1 (and only there)."""

ANSWER = "solution"
CODE = """
import socket
try:
    with socket.create_connection(("127.0.0.1", {port}), timeout=2) as conn:
        conn.sendall(b"grades please")
        print("NETWORK REACHED THE HOST")
except OSError as err:
    print(f"no network: {{err}}")
"""
