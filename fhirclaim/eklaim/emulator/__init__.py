"""The sandbox E-Klaim: a ws.php server speaking the real protocol, with its own store.

    from fhirclaim.eklaim.emulator import EmulatorConfig, create_emulator_app
    app = create_emulator_app(EmulatorConfig(key_hex=key, coders=[("123123123123", "INACBG")]))  # build 5.10
    app = create_emulator_app(EmulatorConfig(key_hex=key, protocol="5.1"))  # the 2017 build
    # app is a WSGI callable serving POST /E-Klaim/ws.php; app.register_coder(nik, name),
    # app.set_bpjs_claim_status(nomor_sep, "40", "40_Proses_Cabang") drive the sandbox from Python.

It reaches the rest of fhirclaim only through the wire protocol (fhirclaim.eklaim.crypto / errors) and the INA-CBG
grouper and ICD tables it is built with; it never imports the facade (api, claims, store).
"""

from fhirclaim.eklaim.emulator.app import EmulatorApp, create_emulator_app
from fhirclaim.eklaim.emulator.config import EmulatorConfig

__all__ = ["EmulatorApp", "EmulatorConfig", "create_emulator_app"]
