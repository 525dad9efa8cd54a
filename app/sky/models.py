from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


def validate_ra(value):
    if not 0.0 <= value < 360.0:
        raise ValidationError("Right ascension must satisfy 0 <= ra < 360 degrees.")


class SkyPosition(models.Model):
    """A named position on the sky (ICRS degrees), indexed with Q3C."""

    name = models.CharField(max_length=200)
    ra = models.FloatField(
        "right ascension (deg)",
        validators=[validate_ra],
        help_text="0 <= ra < 360",
    )
    dec = models.FloatField(
        "declination (deg)",
        validators=[MinValueValidator(-90.0), MaxValueValidator(90.0)],
        help_text="-90 <= dec <= 90",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                check=models.Q(ra__gte=0.0) & models.Q(ra__lt=360.0),
                name="sky_skyposition_ra_range",
            ),
            models.CheckConstraint(
                check=models.Q(dec__gte=-90.0) & models.Q(dec__lte=90.0),
                name="sky_skyposition_dec_range",
            ),
        ]
        # The Q3C functional index is created by raw SQL in migration 0002.

    def __str__(self):
        return "%s (%.6f, %+.6f)" % (self.name, self.ra, self.dec)
