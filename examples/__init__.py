"""The example cases and the Postman collection; shipped as package data `fhirclaim.examples`, so `fhirclaim demo`
runs from a wheel or the Docker image as well as from a source checkout."""
