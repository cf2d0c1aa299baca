"""County GeoJSON from the plotly-geo Census shapefile: shape, validity, size, caching."""

from __future__ import annotations

import json
import time

import pytest
from shapely.geometry import shape

from registry.county_shapes import geojson_bounds, state_counties_geojson, state_outline_geojson
from registry.geography import counties


def test_kansas_counties() -> None:
    geojson = state_counties_geojson("KS")
    assert geojson["type"] == "FeatureCollection"
    features = geojson["features"]
    assert len(features) == 105
    ids = [f["id"] for f in features]
    assert all(isinstance(i, str) and len(i) == 5 and i.isdigit() and i.startswith("20") for i in ids)
    assert len(set(ids)) == 105
    assert set(ids) == set(counties().query("state_abbr == 'KS'")["fips"])
    names = {f["id"]: f["properties"]["name"] for f in features}
    assert names["20091"] == "Johnson"
    for feature in features:
        geom = shape(feature["geometry"])
        assert geom.geom_type in ("Polygon", "MultiPolygon")
        assert geom.is_valid and not geom.is_empty and geom.area > 0
    assert len(json.dumps(geojson, separators=(",", ":"))) < 1_000_000
    west, south, east, north = geojson_bounds(geojson)
    assert -102.1 < west < -102.0 and 94.5 < -east < 94.7 and 36.9 < south < 37.0 and 40.0 < north < 40.1


def test_coordinates_are_rounded_and_borders_shared() -> None:
    features = state_counties_geojson("KS")["features"]
    first = features[0]["geometry"]["coordinates"]
    ring = first[0] if features[0]["geometry"]["type"] == "Polygon" else first[0][0]
    assert all(round(c, 4) == c for point in ring for c in point)
    # coverage simplification: neighbouring counties meet without gaps or overlaps
    shapes = [shape(f["geometry"]) for f in features]
    total = sum(s.area for s in shapes)
    from shapely import union_all
    assert union_all(shapes).area == pytest.approx(total, rel=1e-6)


def test_cached_and_fast() -> None:
    state_counties_geojson("KS")
    start = time.perf_counter()
    again = state_counties_geojson("ks")
    assert time.perf_counter() - start < 1.0
    assert again is state_counties_geojson("KS")


def test_disk_cache(tmp_path) -> None:
    first = state_counties_geojson("DE", cache_dir=tmp_path)
    files = list(tmp_path.glob("*.geojson"))
    assert len(files) == 1
    assert json.loads(files[0].read_text()) == first
    assert len(first["features"]) == 3


def test_alaska_is_contiguous_across_the_antimeridian() -> None:
    west, _, east, _ = geojson_bounds(state_counties_geojson("AK"))
    assert east < 0 and east - west < 60


def test_outline_and_unknown_state() -> None:
    outline = state_outline_geojson("KS")
    geom = shape(outline["geometry"])
    assert outline["id"] == "20" and geom.is_valid
    counties_area = sum(shape(f["geometry"]).area for f in state_counties_geojson("KS")["features"])
    assert geom.area == pytest.approx(counties_area, rel=1e-3)
    with pytest.raises(KeyError):
        state_counties_geojson("XX")
