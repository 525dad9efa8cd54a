from django.contrib import admin

from .models import SkyPosition


@admin.register(SkyPosition)
class SkyPositionAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "ra", "dec", "created")
    search_fields = ("name",)
    readonly_fields = ("created",)
