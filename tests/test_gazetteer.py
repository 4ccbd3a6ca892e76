"""The gazetteer (domain/gazetteer.json): every place inside its borough, names that lead
to one place, landmarks that lead to a place, and the doors that use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aura_server.domain.gazetteer import gazetteer
from aura_server.domain.taxonomy import BOROUGHS, CATEGORIES, NEIGHBORHOODS, find_neighborhood

# NYC borough boundaries as TopoJSON (NYC DCP's, simplified, as published by NYC DOHMH in
# github.com/nychealth/EHDP-data, geography/borough.topo.json).
BOROUGH_SHAPES = Path(__file__).parent / "data" / "boroughs.topo.json"
Ring = list[tuple[float, float]]


def borough_rings() -> dict[str, list[Ring]]:
    """Each borough's polygon rings (lng, lat), decoded from the quantized TopoJSON."""
    topo = json.loads(BOROUGH_SHAPES.read_text())
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs: list[Ring] = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)

    def ring(indexes: list[int]) -> Ring:
        points: Ring = []
        for index in indexes:
            arc = arcs[index] if index >= 0 else arcs[~index][::-1]
            points.extend(arc if not points else arc[1:])
        return points

    shapes: dict[str, list[Ring]] = {}
    for geometry in next(iter(topo["objects"].values()))["geometries"]:
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        shapes[geometry["properties"]["name"]] = [ring(r) for polygon in polygons for r in polygon]
    return shapes


def inside(lng: float, lat: float, rings: list[Ring]) -> bool:
    """Even-odd rule over all rings (holes included)."""
    crossings = 0
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > lat) != (y2 > lat) and lng < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                crossings += 1
    return crossings % 2 == 1


def test_every_place_lies_in_its_borough() -> None:
    shapes = borough_rings()
    assert set(shapes) == set(BOROUGHS)
    outside = [
        (place.name, place.city)
        for place in gazetteer().places
        if not inside(place.lng, place.lat, shapes[place.city])
    ]
    assert outside == []


def test_names_aliases_and_landmarks_lead_to_one_place() -> None:
    places = gazetteer()
    names = [place.name for place in places.places]
    assert len(names) == len(set(names)) and len(names) >= 260
    for hood in NEIGHBORHOODS:  # the demo catalog's names and centres are canonical
        place = places.place(hood.name)
        assert (place.city, place.lat, place.lng) == (hood.city, hood.lat, hood.lng)
    seen: dict[str, str] = {}
    for place in places.places:
        for alias in place.aliases:
            assert seen.setdefault(alias, place.name) == place.name, alias
            assert alias.lower() not in {n.lower() for n in names if n != place.name}, alias
    assert len(places.landmarks) >= 100
    assert all(places.place(mark.neighborhood) for mark in places.landmarks)
    assert all(set(mark.categories) <= set(CATEGORIES) for mark in places.landmarks)
    assert any(mark.categories for mark in places.landmarks)


@pytest.mark.parametrize(
    ("typed", "place", "borough"),
    [
        ("uws", "Upper West Side", "Manhattan"),
        ("Billyburg", "Williamsburg", "Brooklyn"),
        ("kips bay", "Kips Bay", "Manhattan"),
        ("Sunnyside", "Sunnyside", "Queens"),
        ("prospect hts", "Prospect Heights", "Brooklyn"),
        ("Murray Hill", "Murray Hill", "Manhattan"),
        ("city island", "City Island", "Bronx"),
        ("Tottenville", "Tottenville", "Staten Island"),
    ],
)
def test_a_place_is_found_by_what_people_type(typed: str, place: str, borough: str) -> None:
    found = find_neighborhood(typed)
    assert found is not None and (found.name, found.city) == (place, borough)


def test_an_unknown_place_is_not_found() -> None:
    assert find_neighborhood("Narnia Heights") is None


def test_a_borough_centre_lies_in_the_borough() -> None:
    rings = borough_rings()
    for borough in ("Brooklyn", "Queens", "Staten Island", "Bronx"):
        lat, lng = gazetteer().centre(borough)
        assert inside(lng, lat, rings[borough]), borough
    with pytest.raises(ValueError, match="Atlantis"):
        gazetteer().centre("Atlantis")
