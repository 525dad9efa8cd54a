-- Q3C sky indexing (q3c_ang2ipix, q3c_radial_query, ...).
-- Run by the postgres entrypoint as POSTGRES_USER (a superuser) on
-- POSTGRES_DB, once, when the data directory is initialised.
-- q3c is not a "trusted" extension, so an ordinary role cannot create it later.
CREATE EXTENSION IF NOT EXISTS q3c;
