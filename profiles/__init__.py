"""JSON profiles (SATUSEHAT shapes) this server enforces; shipped as package data `fhirclaim.profiles`."""
