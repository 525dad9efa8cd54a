"""Tests for the cone-search API (need PostgreSQL with the q3c extension).

Run with DJANGO_STATIC_STORAGE=plain (or after collectstatic): the test runner
forces DEBUG=False, and the manifest storage then needs staticfiles.json.
"""
from django.test import TestCase

from .models import SkyPosition


class ConeSearchTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.m31 = SkyPosition.objects.create(name="M31", ra=10.6847, dec=41.2690)
        cls.m33 = SkyPosition.objects.create(name="M33", ra=23.4621, dec=30.6599)
        cls.crab = SkyPosition.objects.create(name="M1", ra=83.6331, dec=22.0145)

    def test_match(self):
        response = self.client.get("/api/cone", {"ra": "10.68", "dec": "41.27", "radius": "1"})
        self.assertEqual(response.status_code, 200)
        data = response.json()
        self.assertEqual(data["count"], 1)
        self.assertEqual(data["results"][0]["name"], "M31")

    def test_wide_cone_sorted_by_id(self):
        response = self.client.get("/api/cone", {"ra": "17", "dec": "36", "radius": "10"})
        ids = [row["id"] for row in response.json()["results"]]
        self.assertEqual(ids, [self.m31.id, self.m33.id])

    def test_bad_parameters(self):
        cases = [
            ({"dec": "0", "radius": "1"}, "ra"),
            ({"ra": "abc", "dec": "0", "radius": "1"}, "ra"),
            ({"ra": "360", "dec": "0", "radius": "1"}, "ra"),
            ({"ra": "nan", "dec": "0", "radius": "1"}, "ra"),
            ({"ra": "0", "dec": "-90.5", "radius": "1"}, "dec"),
            ({"ra": "0", "dec": "inf", "radius": "1"}, "dec"),
            ({"ra": "0", "dec": "0", "radius": "0"}, "radius"),
            ({"ra": "0", "dec": "0", "radius": "10.01"}, "radius"),
        ]
        for params, name in cases:
            with self.subTest(params=params):
                response = self.client.get("/api/cone", params)
                self.assertEqual(response.status_code, 400)
                self.assertIn("'%s'" % name, response.json()["error"])

    def test_post_not_allowed(self):
        response = self.client.post("/api/cone", {"ra": "0", "dec": "0", "radius": "1"})
        self.assertEqual(response.status_code, 405)


class PageTests(TestCase):
    def test_login_page(self):
        response = self.client.get("/accounts/login/")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "sky/site")
