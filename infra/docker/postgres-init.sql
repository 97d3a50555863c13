-- The schema registry keeps its schemas in their own database (docker-compose.yml only).
CREATE DATABASE millrace_registry;
