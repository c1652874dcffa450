-- Run once by the postgres image, on an empty data volume (/docker-entrypoint-initdb.d):
-- one database per service. The services' own migrations create their tables.
CREATE DATABASE projects;
CREATE DATABASE aggregator;
