"""E-Klaim web service (ws.php): protocol crypto, client, error codes; emulator/ is the sandbox server."""
