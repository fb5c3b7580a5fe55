"""The only package that talks SQL: models, repositories, migrations helpers, embedded server."""
