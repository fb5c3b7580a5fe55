"""The only package that talks SQL: models, repositories, the batch write path, partitions, TimescaleDB."""
