import math

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

# Largest accepted cone radius, in degrees.
MAX_RADIUS_DEG = 10.0

CONE_SQL = (
    "SELECT id, name, ra, dec FROM sky_skyposition "
    # Table columns first: q3c_radial_query(ra, dec, ...) can use the
    # q3c_ang2ipix(ra, dec) index; the reversed argument order cannot.
    "WHERE q3c_radial_query(ra, dec, %s, %s, %s) "
    "ORDER BY id"
)

# name -> (human-readable allowed range, predicate)
_PARAMS = (
    ("ra", "0 <= ra < 360", lambda v: 0.0 <= v < 360.0),
    ("dec", "-90 <= dec <= 90", lambda v: -90.0 <= v <= 90.0),
    (
        "radius",
        "0 < radius <= %g" % MAX_RADIUS_DEG,
        lambda v: 0.0 < v <= MAX_RADIUS_DEG,
    ),
)


class BadParameter(ValueError):
    pass


def _parse_cone_params(query):
    values = {}
    for name, allowed, ok in _PARAMS:
        raw = query.get(name)
        if raw is None or raw.strip() == "":
            raise BadParameter(
                "missing required parameter '%s' (degrees, %s)" % (name, allowed)
            )
        try:
            value = float(raw)
        except ValueError:
            raise BadParameter(
                "parameter '%s' must be a number in degrees (%s), got %r"
                % (name, allowed, raw[:50])
            )
        if not math.isfinite(value) or not ok(value):
            raise BadParameter(
                "parameter '%s' out of range: must be a finite number of degrees "
                "with %s, got %r" % (name, allowed, raw[:50])
            )
        values[name] = value
    return values["ra"], values["dec"], values["radius"]


def home(request):
    return render(request, "sky/home.html", {"max_radius": MAX_RADIUS_DEG})


# Read-only endpoint: CSRF exemption only lets non-GET requests reach the
# JSON 405 below instead of Django's HTML CSRF 403 page.
@csrf_exempt
def cone_search(request):
    """GET /api/cone?ra=<deg>&dec=<deg>&radius=<deg> -> JSON."""
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse(
            {"error": "method %s not allowed; use GET" % request.method}, status=405
        )
        response["Allow"] = "GET, HEAD"
        return response
    try:
        ra, dec, radius = _parse_cone_params(request.GET)
    except BadParameter as exc:
        return JsonResponse({"error": str(exc)}, status=400)

    with connection.cursor() as cursor:
        cursor.execute(CONE_SQL, [ra, dec, radius])
        rows = cursor.fetchall()
    results = [
        {"id": row[0], "name": row[1], "ra": row[2], "dec": row[3]} for row in rows
    ]
    return JsonResponse({"count": len(results), "results": results})
