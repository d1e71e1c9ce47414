"""Personnel Registration (`EmulatorApp.register_coder`): the sandbox registers the coder before each call that
names one, so a registration the app made already, name and all, writes nothing (issue 17); a new name is stored."""

from __future__ import annotations

from eklaim_kit import new_claim_from_manual
from sqlalchemy import event

from fhirclaim.eklaim.messages import ClaimDataUpdate

SEP = "1710R01011160000249"


def test_a_registration_made_already_writes_nothing_and_a_new_name_is_stored(app, client):
    client.new_claim(new_claim_from_manual(nomor_sep=SEP, nomor_rm="123-45-67"))
    app.register_coder("999", "CODER BARU")
    statements: list[str] = []
    event.listen(app.store.engine, "before_cursor_execute", lambda _c, _cur, sql, *_: statements.append(sql))
    app.register_coder(" 999 ", "CODER BARU ")
    assert statements == []
    for name in ("CODER LAMA", "CODER BARU"):  # each change of name reaches E-Klaim's Personnel
        app.register_coder("999", name)
        client.set_claim_data(SEP, ClaimDataUpdate(coder_nik="999", tarif_rs=100000))
        assert client.get_claim_data(SEP).data["coder_nm"] == name
