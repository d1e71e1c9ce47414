"""The composition root: builds every long-lived part of the server from one `Settings` object.

Flask (app.py), the standalone worker and the CLI all start from a `Runtime`; nothing else constructs
databases, stores or listeners, so there are no module-level globals to reset between tests.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fhirclaim.config import Settings
from fhirclaim.fhir import capability
from fhirclaim.fhir.service import FhirService, ResourceInterceptor, ResourceListener, SearchOptions
from fhirclaim.fhir.validation import STORED_TYPES
from fhirclaim.secrets import SecretBox
from fhirclaim.store.db import Database
from fhirclaim.store.unit_of_work import Store, UnitOfWork

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.data_dir = settings.resolved_data_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database = Database(settings.resolved_database_url())
        self.database.migrate()
        self.store = Store(self.database, timezone_name=settings.timezone)
        self.secrets = SecretBox.for_data_dir(self.data_dir, settings.secret_key)
        self.listeners: list[ResourceListener] = []
        self.interceptors: list[ResourceInterceptor] = []

    def fhir_service(self, uow: UnitOfWork, *, author: str | None, lenient: bool = False,
                     listeners: Sequence[ResourceListener] | None = None) -> FhirService:
        options = SearchOptions(lenient=lenient, default_count=self.settings.default_page_size,
                                max_count=self.settings.max_page_size)
        return FhirService(uow, author=author, listeners=self.listeners if listeners is None else listeners,
                           interceptors=self.interceptors, timezone=self.settings.timezone, search_options=options)

    def capability_statement(self, base: str) -> dict:
        validate = {"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"}
        return capability.capability_statement(base, operations=[], type_operations={
            t: [validate] for t in STORED_TYPES})

    def close(self) -> None:
        self.database.dispose()
