"""The sandbox E-Klaim: a ws.php server speaking the real protocol, with its own store."""
