from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter
from rest_framework_api_key.admin import APIKeyModelAdmin

from audit.admin_mixins import AuditedActionRefusalMixin
from audit.services import Actor
from hitl_site import roles
from hitl_site.errors import ApplicationError
from hitl_site.labels import money_html, short_id_html

from .admin_scope import CaseScopedAdminMixin, case_scope_for_admin
from .models import Customer, Integration, IntegrationAPIKey, Order, RefundRequest
from .services import integration_api_key_create, integration_api_key_revoke


class IntegrationAPIKeyInline(admin.TabularInline):
    model = IntegrationAPIKey
    extra = 0
    fields = ("name", "prefix", "created", "revoked", "expiry_date")
    readonly_fields = ("name", "prefix", "created", "revoked", "expiry_date")
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class IntegrationKeysAdminMixin(AuditedActionRefusalMixin):
    """Creating and revoking keys needs ``refunds.manage_integration_keys``, not merely a
    view of the page; an attempt without it is refused and audited."""

    def has_manage_keys_permission(self, request) -> bool:
        return request.user.has_perm(roles.MANAGE_INTEGRATION_KEYS)


@admin.register(Integration)
class IntegrationAdmin(IntegrationKeysAdminMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "is_active", "throttle_rate", "created_at")
    list_filter = ("kind", "is_active")
    search_fields = ("name",)
    inlines = [IntegrationAPIKeyInline]
    actions = ["create_api_key"]

    @admin.action(description="Create a new API key (shown once)", permissions=["manage_keys"])
    def create_api_key(self, request, queryset):
        for integration in queryset:
            try:
                _, plain = integration_api_key_create(
                    integration=integration,
                    name=f"admin:{request.user.get_username()}",
                    actor=Actor.user(request.user),
                )
            except ApplicationError as exc:  # show it, go on with the others
                self.message_user(request, f"{integration}: {exc}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"API key for {integration}: {plain} — copy it now, it will not be shown again.",
                messages.WARNING,
            )


@admin.register(IntegrationAPIKey)
class IntegrationAPIKeyAdmin(IntegrationKeysAdminMixin, APIKeyModelAdmin):
    list_display = (*APIKeyModelAdmin.list_display, "integration")
    list_filter = (*APIKeyModelAdmin.list_filter, "integration")
    list_select_related = ("integration",)
    actions = ["revoke_keys"]

    def has_add_permission(self, request):
        return False  # keys are created from the Integration page, so creation is audited

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Editing a key's expiry date also ends (or prolongs) it: the key permission too.
        return super().has_change_permission(request, obj) and self.has_manage_keys_permission(
            request
        )

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "revoked", "integration")

    @admin.action(
        description="Revoke selected keys (cannot be undone)", permissions=["manage_keys"]
    )
    def revoke_keys(self, request, queryset):
        for api_key in queryset.select_related("integration"):
            integration_api_key_revoke(api_key=api_key, actor=Actor.user(request.user))
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name", "tier", "country", "integration", "created_at")
    list_filter = ("tier", "country", "integration")
    search_fields = ("external_id", "name", "email")
    list_select_related = ("integration",)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "external_id",
        "customer",
        "amount",
        "currency",
        "status",
        "ordered_at",
        "delivered_at",
    )
    list_filter = ("status", "currency", "integration")
    search_fields = ("external_id", "customer__external_id", "customer__name")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    date_hierarchy = "ordered_at"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        visible = case_scope_for_admin(request.user)  # the orders of the cases in scope
        if visible is None:
            return queryset
        return queryset.filter(pk__in=RefundRequest.objects.filter(visible).values("order_id"))


@admin.register(RefundRequest)
class RefundRequestAdmin(CaseScopedAdminMixin, admin.ModelAdmin):
    """Status is read-only here: it changes only through the transition function."""

    list_display = (
        "short_id",
        "status",
        "customer",
        "order",
        "amount",
        "channel",
        "priority",
        "created_at",
    )
    # A date filter, not date_hierarchy: that is a DISTINCT over every row in scope.
    list_filter = (
        "status",
        "channel",
        "priority",
        "integration",
        ("created_at", DateFieldListFilter),
    )
    search_fields = (
        "public_id",
        "external_reference",
        "customer__external_id",
        "customer__name",
        "order__external_id",
    )
    list_select_related = ("integration", "customer", "order")
    raw_id_fields = ("customer", "order")
    readonly_fields = (
        "public_id",
        "status",
        "status_changed_at",
        "created_at",
        "updated_at",
        "idempotency_key",
    )
    show_full_result_count = False

    @admin.display(description="request", ordering="public_id")
    def short_id(self, obj):
        return short_id_html(obj.public_id)

    @admin.display(description="amount", ordering="requested_amount")
    def amount(self, obj):
        return money_html(obj.requested_amount, obj.currency)


# The gate, agent, executor and task-queue admin pages register themselves on import.
from . import admin_agent, admin_execution, admin_gate, admin_tasks  # noqa: E402, F401
