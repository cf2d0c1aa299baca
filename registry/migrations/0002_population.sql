-- Population denominators (SEER population files) and one provenance row per loaded file.

-- Persons by year x county x registry x race x origin x sex x SEER 19 age group. Loading a file replaces
-- every row of the (state, year) pairs it covers, so one state-year comes from one file.
CREATE TABLE population (
    year        SMALLINT NOT NULL,
    state_fips  VARCHAR NOT NULL,   -- 2 characters; 99 = SEER's Katrina/Rita evacuee dummy state (KR)
    fips        VARCHAR NOT NULL,   -- 5-character state + county FIPS
    registry    VARCHAR NOT NULL,   -- SEER registry code; 99 = not a SEER area
    race        VARCHAR NOT NULL,   -- SEER race code 1-4; 9 = all races combined (this project's files)
    origin      VARCHAR NOT NULL,   -- 0 non-Hispanic, 1 Hispanic, 9 not applicable / all origins
    sex         VARCHAR NOT NULL,   -- 1 male, 2 female
    age_group   VARCHAR NOT NULL,   -- SEER 19 age groups: 00, 01-04, 05-09, ..., 80-84, 85+
    population  BIGINT NOT NULL,
    load_id     INTEGER NOT NULL    -- the population_load row the value came from
);

CREATE TABLE population_load (
    load_id          INTEGER PRIMARY KEY,
    file_name        VARCHAR NOT NULL,
    sha256           VARCHAR NOT NULL,  -- of the file's bytes as stored (a .gz file hashes compressed)
    rows             BIGINT NOT NULL,   -- population rows inserted (after summing lines sharing a key)
    first_year       SMALLINT,
    last_year        SMALLINT,
    states           VARCHAR[],         -- postal abbreviations of the states the file covers
    total_population BIGINT,            -- sum over every row of the file (all years)
    loaded_by        VARCHAR,
    loaded_at        TIMESTAMPTZ NOT NULL
);
