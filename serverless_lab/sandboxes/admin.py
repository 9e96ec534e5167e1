from django.contrib import admin

from .models import Sandbox


@admin.register(Sandbox)
class SandboxAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "account_id", "region", "access_key_id", "created_at")
    search_fields = ("name", "account_id", "access_key_id", "owner__username")
    readonly_fields = ("account_id", "access_key_id", "secret_access_key", "created_at", "updated_at")
