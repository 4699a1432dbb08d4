from django.contrib import admin

from .models import User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("username", "email", "name", "is_staff", "date_joined")
    search_fields = ("username", "email", "name")
    readonly_fields = ("id", "date_joined", "last_login")
    exclude = ("password",)
