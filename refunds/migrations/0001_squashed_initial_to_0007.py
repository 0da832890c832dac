"""refunds 0001–0007 squashed: the tangled start of the app's history as one migration.

Replaces the ten migrations of the parallel branches of November 2026 (listed in
``replaces``): ``0001_initial``, ``0002_final_payload_hash``, ``0002_gate_policy``,
``0003_execution_models``, ``0003_execution_schedules``,
``0003_integration_throttle_rate_validator``, ``0004_merge_20261125_0201``,
``0005_agent_policies_proposals``, ``0006_pipeline_schedule`` and
``0007_merge_0003_execution_schedules_0006_pipeline_schedule``.

Made with ``manage.py squashmigrations refunds 0007_merge_… --squashed-name
squashed_initial_to_0007``, then folded by hand where Django's optimizer could not (it
stops at every AddConstraint/AddIndex on the same model): the AddConstraint/AddIndex
operations into their CreateModel options, the ``final_payload_hash`` AddField into
RefundRequest (as its last field, where ADD COLUMN put it) and the validator-only
AlterField of ``Integration.throttle_rate`` into Integration. The resulting schema is
identical to the replaced chain's (SQLite ``.schema`` and ``pg_dump --schema-only``
compared), and so are the rows the three data migrations write (the default gate policy
and the django-q2 schedules), copied below so this file imports no old migration module.
The data migrations are not elidable: a fresh database needs those rows.

How Django uses it: a fresh database applies this migration alone; a database that has
applied some but not all of the replaced migrations keeps applying the old files (which
must therefore stay in this directory) and is recorded as having this one once it has all
of them; a database with all of them sees it as applied. Migrations that depended on a
replaced migration (``0008_outbound_message_case_open``, ``reviews.0001_review_models``)
are resolved to this one by ``replaces``.

When the old files may go: only after EVERY deployment (each production and staging
database, each restored backup that may still be migrated) has run a release containing
this file, i.e. ``manage.py showmigrations refunds`` there shows
``[X] 0001_squashed_initial_to_0007``. A later session then deletes the ten old files,
removes ``replaces`` from this migration (``initial = True`` stays), points the migrations
that still name a replaced one (``0008_outbound_message_case_open`` ->
``0007_merge_…``, ``reviews.0001_review_models`` -> ``0004_merge_…``) at this one, and
updates ``refunds/tests/test_migrations_squash.py``. Until then keep the old files: a
database part-way through them cannot migrate without them.
"""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
import refunds.gate.policy
import refunds.models.core
import refunds.models.execution
import refunds.models.gate
import refunds.money
import uuid
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


# --- From 0002_gate_policy (copied verbatim) -------------------------------------------

# The design brief's routing, written out literally: a migration must not change when the
# code's defaults do.
DEFAULT_POLICY = {
    "auto_approve_ceiling": Decimal("25.00"),
    "currency_ceilings": {},
    "auto_actions": ["approve_refund"],
    "required_policy_match": "strong",
    "review_sentiments": ["frustrated", "angry"],
    "risk_terms": ["fraud", "chargeback", "injury", "legal", "lawsuit"],
    "honour_model_review_flag": True,
    "review_tiers": [],
    "review_countries": [],
    "max_prior_refunds_90d": None,
    "queue_routes": {
        "high_risk_term": "legal",
        "order_owner_mismatch": "senior",
        "amount_exceeds_refundable": "senior",
        "currency_mismatch": "senior",
        "prior_refunds_exceeded": "senior",
    },
    "priority_tiers": ["premium", "enterprise"],
    "priority_amount": Decimal("100.00"),
    "priority_age_hours": 24,
}


def create_default_policy(apps, schema_editor):
    GatePolicyVersion = apps.get_model("refunds", "GatePolicyVersion")
    if GatePolicyVersion.objects.exists():
        return
    now = django.utils.timezone.now()
    GatePolicyVersion.objects.create(
        version=1, is_active=True, activated_at=now, created_at=now,
        change_note="Default policy: the routing of the design brief.", **DEFAULT_POLICY)


def remove_default_policy(apps, schema_editor):
    GatePolicyVersion = apps.get_model("refunds", "GatePolicyVersion")
    GatePolicyVersion.objects.filter(version=1, evaluations__isnull=True).delete()


# --- From 0006_pipeline_schedule (renamed: pipeline_schedule_*) -------------------------

PIPELINE_FUNC = "refunds.tasks.pipeline_reconcile_task"


def pipeline_schedule_forwards(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    schedule.objects.update_or_create(
        name="reconcile-pipeline",
        defaults={"func": PIPELINE_FUNC, "schedule_type": "I", "minutes": 1, "repeats": -1})


def pipeline_schedule_backwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="reconcile-pipeline").delete()


# --- From 0003_execution_schedules (renamed: execution_schedules_*) ---------------------

EXECUTION_SCHEDULES = [
    ("reconcile-executions", "refunds.tasks.executions_reconcile"),
    ("deliver-due-webhooks", "refunds.tasks.webhooks_deliver_due"),
]


def execution_schedules_forwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func in EXECUTION_SCHEDULES:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": "I", "minutes": 1,
                                 "repeats": -1})


def execution_schedules_backwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[name for name, _ in EXECUTION_SCHEDULES]).delete()


class Migration(migrations.Migration):

    replaces = [('refunds', '0001_initial'), ('refunds', '0002_final_payload_hash'), ('refunds', '0003_integration_throttle_rate_validator'), ('refunds', '0002_gate_policy'), ('refunds', '0004_merge_20261125_0201'), ('refunds', '0005_agent_policies_proposals'), ('refunds', '0006_pipeline_schedule'), ('refunds', '0003_execution_models'), ('refunds', '0003_execution_schedules'), ('refunds', '0007_merge_0003_execution_schedules_0006_pipeline_schedule')]

    initial = True

    dependencies = [
        ('django_q', '0018_task_success_index'),
        ('django_q', '0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Integration',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, unique=True)),
                ('kind', models.CharField(choices=[('chat_widget', 'Chat widget'), ('email_gateway', 'E-mail gateway'), ('web_form', 'Web form'), ('internal', 'Internal system')], max_length=20)),
                ('is_active', models.BooleanField(default=True)),
                ('throttle_rate', models.CharField(blank=True, help_text="Overrides the default API rate for this integration, e.g. '120/min'.", max_length=20, validators=[refunds.models.core.validate_throttle_rate])),
                ('webhook_url', models.URLField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='Customer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('external_id', models.CharField(max_length=100)),
                ('name', models.CharField(max_length=200)),
                ('email', models.EmailField(blank=True, max_length=254)),
                ('phone', models.CharField(blank=True, max_length=40)),
                ('address', models.TextField(blank=True)),
                ('tier', models.CharField(choices=[('standard', 'Standard'), ('premium', 'Premium'), ('enterprise', 'Enterprise')], default='standard', max_length=20)),
                ('country', models.CharField(max_length=2, validators=[refunds.money.validate_country])),
                ('customer_since', models.DateField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('integration', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='customers', to='refunds.integration')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('integration', 'external_id'), name='customer_unique_external_id')],
            },
        ),
        migrations.CreateModel(
            name='IntegrationAPIKey',
            fields=[
                ('id', models.CharField(editable=False, max_length=150, primary_key=True, serialize=False, unique=True)),
                ('prefix', models.CharField(editable=False, max_length=8, unique=True)),
                ('hashed_key', models.CharField(editable=False, max_length=150)),
                ('created', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('name', models.CharField(default=None, help_text='A free-form name for the API key. Need not be unique. 50 characters max.', max_length=50)),
                ('revoked', models.BooleanField(blank=True, default=False, help_text='If the API key is revoked, clients cannot use it anymore. (This cannot be undone.)')),
                ('expiry_date', models.DateTimeField(blank=True, help_text='Once API key expires, clients cannot use it anymore.', null=True, verbose_name='Expires')),
                ('integration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_keys', to='refunds.integration')),
            ],
            options={
                'verbose_name': 'integration API key',
                'verbose_name_plural': 'integration API keys',
                'ordering': ('-created',),
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='Order',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('external_id', models.CharField(max_length=100)),
                ('items', models.JSONField(blank=True, default=list)),
                ('amount', models.DecimalField(decimal_places=2, max_digits=12, validators=[django.core.validators.MinValueValidator(0)])),
                ('currency', models.CharField(max_length=3, validators=[refunds.money.validate_currency])),
                ('ordered_at', models.DateTimeField()),
                ('delivered_at', models.DateTimeField(blank=True, null=True)),
                ('status', models.CharField(choices=[('placed', 'Placed'), ('shipped', 'Shipped'), ('delivered', 'Delivered'), ('cancelled', 'Cancelled'), ('returned', 'Returned')], default='placed', max_length=20)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='refunds.customer')),
                ('integration', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='refunds.integration')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('integration', 'external_id'), name='order_unique_external_id'), models.CheckConstraint(condition=models.Q(('amount__gte', 0)), name='order_amount_not_negative')],
            },
        ),
        migrations.CreateModel(
            name='RefundRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('channel', models.CharField(choices=[('chat', 'Chat'), ('email', 'E-mail'), ('web', 'Web form'), ('api', 'API')], max_length=10)),
                ('external_reference', models.CharField(blank=True, max_length=200)),
                ('conversation_id', models.CharField(blank=True, db_index=True, max_length=200)),
                ('message', models.TextField()),
                ('requested_amount', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, validators=[django.core.validators.MinValueValidator(0)])),
                ('currency', models.CharField(max_length=3, validators=[refunds.money.validate_currency])),
                ('priority', models.PositiveSmallIntegerField(choices=[(0, 'Low'), (1, 'Normal'), (2, 'High'), (3, 'Urgent')], default=1)),
                ('status', models.CharField(choices=[('received', 'Received'), ('drafting', 'Drafting'), ('gated', 'Gated'), ('in_review', 'In review'), ('escalated', 'Escalated'), ('awaiting_customer', 'Awaiting customer'), ('auto_approved', 'Auto-approved'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('executing', 'Executing'), ('executed', 'Executed'), ('execution_failed', 'Execution failed'), ('expired', 'Expired'), ('closed', 'Closed')], default='received', editable=False, max_length=24)),
                ('final_action', models.CharField(blank=True, max_length=32)),
                ('final_amount', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, validators=[django.core.validators.MinValueValidator(0)])),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('idempotency_key', models.CharField(blank=True, editable=False, max_length=255, null=True)),
                ('idempotency_fingerprint', models.CharField(blank=True, editable=False, max_length=64)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('status_changed_at', models.DateTimeField(auto_now_add=True)),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='refund_requests', to='refunds.customer')),
                ('integration', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='refund_requests', to='refunds.integration')),
                ('order', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='refund_requests', to='refunds.order')),
                ('final_payload_hash', models.CharField(blank=True, editable=False, max_length=64)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['integration', '-created_at', '-id'], name='refunds_ref_integra_b232a4_idx'), models.Index(fields=['status', 'status_changed_at'], name='refunds_ref_status_7eae32_idx')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('idempotency_key__isnull', False)), fields=('integration', 'idempotency_key'), name='refund_request_unique_idempotency_key'), models.CheckConstraint(condition=models.Q(('final_amount__isnull', True), ('final_amount__gte', 0), _connector='OR'), name='refund_request_final_amount_not_negative'), models.CheckConstraint(condition=models.Q(('requested_amount__isnull', True), ('requested_amount__gte', 0), _connector='OR'), name='refund_request_amount_not_negative')],
            },
        ),
        migrations.CreateModel(
            name='GatePolicyVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.PositiveIntegerField(editable=False, unique=True)),
                ('is_active', models.BooleanField(default=False, editable=False)),
                ('change_note', models.CharField(help_text='What changed and why.', max_length=500)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('activated_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('auto_approve_ceiling', models.DecimalField(decimal_places=2, default=Decimal('25.00'), help_text='Refunds above this amount are reviewed (in any currency without its own ceiling).', max_digits=12, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('100000.00'))])),
                ('currency_ceilings', models.JSONField(blank=True, default=dict, validators=[refunds.gate.policy.validate_currency_ceilings])),
                ('auto_actions', models.JSONField(blank=True, default=refunds.models.gate._default_auto_actions, validators=[refunds.gate.policy.validate_actions])),
                ('required_policy_match', models.CharField(choices=[('strong', 'Strong'), ('medium', 'Medium'), ('weak', 'Weak')], default='strong', help_text='The weakest policy match that may still auto-approve.', max_length=10)),
                ('review_sentiments', models.JSONField(blank=True, default=refunds.models.gate._default_review_sentiments, validators=[refunds.gate.policy.validate_sentiments])),
                ('risk_terms', models.JSONField(blank=True, default=refunds.models.gate._default_risk_terms, validators=[refunds.gate.policy.validate_risk_terms])),
                ('honour_model_review_flag', models.BooleanField(default=True, help_text='Review every case in which the model asks for review.')),
                ('review_tiers', models.JSONField(blank=True, default=list, validators=[refunds.gate.policy.validate_tiers])),
                ('review_countries', models.JSONField(blank=True, default=list, validators=[refunds.gate.policy.validate_countries])),
                ('max_prior_refunds_90d', models.PositiveIntegerField(blank=True, help_text='Review when the customer had more refunds than this in 90 days. Empty: no limit.', null=True, validators=[django.core.validators.MaxValueValidator(1000)])),
                ('queue_routes', models.JSONField(blank=True, default=refunds.models.gate._default_queue_routes, validators=[refunds.gate.policy.validate_queue_routes])),
                ('priority_tiers', models.JSONField(blank=True, default=refunds.models.gate._default_priority_tiers, validators=[refunds.gate.policy.validate_tiers])),
                ('priority_amount', models.DecimalField(blank=True, decimal_places=2, default=Decimal('100.00'), max_digits=12, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('100000.00'))])),
                ('priority_age_hours', models.PositiveIntegerField(blank=True, default=24, null=True, validators=[django.core.validators.MaxValueValidator(8760)])),
                ('based_on', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='refunds.gatepolicyversion')),
                ('created_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'gate policy version',
                'ordering': ['-version'],
                'permissions': [('activate_gatepolicyversion', 'Can activate a gate policy version'), ('backtest_gatepolicyversion', 'Can backtest a gate policy version')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('is_active', True)), fields=('is_active',), name='gate_policy_one_active_version'), models.CheckConstraint(condition=models.Q(('auto_approve_ceiling__gte', 0)), name='gate_policy_ceiling_not_negative')],
            },
        ),
        migrations.CreateModel(
            name='GateEvaluation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('route', models.CharField(choices=[('auto', 'Auto-approve'), ('review', 'Human review')], max_length=10)),
                ('reasons', models.JSONField(blank=True, default=list)),
                ('queue', models.CharField(blank=True, max_length=20)),
                ('priority', models.PositiveSmallIntegerField(choices=[(0, 'Low'), (1, 'Normal'), (2, 'High'), (3, 'Urgent')])),
                ('decision', models.JSONField(blank=True, help_text='The RefundDecision judged (null if drafting failed).', null=True)),
                ('failure_code', models.CharField(blank=True, max_length=64)),
                ('context', models.JSONField(help_text='The GateContext judged.')),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='gate_evaluations', to='refunds.refundrequest')),
                ('policy_version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='evaluations', to='refunds.gatepolicyversion')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['request', '-created_at'], name='refunds_gat_request_4647f1_idx')],
            },
        ),
        migrations.RunPython(
            code=create_default_policy,
            reverse_code=remove_default_policy,
        ),
        migrations.CreateModel(
            name='RefundPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(max_length=64, unique=True)),
                ('title', models.CharField(max_length=200)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'verbose_name_plural': 'refund policies',
            },
        ),
        migrations.CreateModel(
            name='RefundPolicyVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.PositiveIntegerField()),
                ('text', models.TextField(help_text="Markdown; each '## ' heading starts a section.")),
                ('change_note', models.CharField(blank=True, max_length=300)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('policy', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='versions', to='refunds.refundpolicy')),
            ],
            options={
                'ordering': ['policy', '-version'],
                'constraints': [models.UniqueConstraint(fields=('policy', 'version'), name='refund_policy_version_unique')],
            },
        ),
        migrations.CreateModel(
            name='RefundPolicySection',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('section_id', models.CharField(max_length=80)),
                ('title', models.CharField(max_length=200)),
                ('body', models.TextField()),
                ('position', models.PositiveSmallIntegerField()),
                ('version', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sections', to='refunds.refundpolicyversion')),
            ],
            options={
                'ordering': ['version', 'position'],
                'constraints': [models.UniqueConstraint(fields=('version', 'section_id'), name='refund_policy_section_unique')],
            },
        ),
        migrations.CreateModel(
            name='Proposal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('provider', models.CharField(max_length=32)),
                ('model_name', models.CharField(max_length=200)),
                ('prompt_name', models.CharField(max_length=64)),
                ('prompt_version', models.CharField(max_length=32)),
                ('prompt_messages', models.JSONField(default=list)),
                ('sections', models.JSONField(default=list, help_text='Chosen sections with their scores.')),
                ('context', models.JSONField(default=dict, help_text='The case facts the model saw.')),
                ('raw_output', models.JSONField(blank=True, null=True)),
                ('decision', models.JSONField(blank=True, null=True)),
                ('token_usage', models.JSONField(blank=True, default=dict)),
                ('latency_ms', models.PositiveIntegerField(default=0)),
                ('attempts', models.PositiveSmallIntegerField(default=1)),
                ('error_code', models.CharField(blank=True, choices=[('model_unavailable', 'Model unavailable'), ('model_output_invalid', 'Model output invalid'), ('model_refused', 'Model refused'), ('model_empty', 'Model gave no answer')], max_length=32)),
                ('error_message', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='proposals', to='refunds.refundrequest')),
                ('policy_version', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='proposals', to='refunds.refundpolicyversion')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'get_latest_by': ['created_at', 'id'],
            },
        ),
        migrations.RunPython(
            code=pipeline_schedule_forwards,
            reverse_code=pipeline_schedule_backwards,
        ),
        migrations.CreateModel(
            name='CustomerReply',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('message', models.TextField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='customer_replies', to='refunds.refundrequest')),
            ],
            options={
                'verbose_name_plural': 'customer replies',
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='IntegrationWebhook',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('secret', models.CharField(default=refunds.models.execution._new_webhook_secret, max_length=100)),
                ('is_active', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('integration', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='webhook', to='refunds.integration')),
            ],
        ),
        migrations.CreateModel(
            name='OutboundMessage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reference', models.CharField(editable=False, max_length=40, unique=True)),
                ('idempotency_key', models.CharField(editable=False, max_length=64, unique=True)),
                ('kind', models.CharField(choices=[('denial', 'Refund denied'), ('more_info', 'More information needed')], max_length=16)),
                ('body', models.TextField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='outbound_messages', to='refunds.refundrequest')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='ReplacementOrder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reference', models.CharField(editable=False, max_length=40, unique=True)),
                ('idempotency_key', models.CharField(editable=False, max_length=64, unique=True)),
                ('items', models.JSONField(blank=True, default=list)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('order', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='replacement_orders', to='refunds.order')),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='replacement_orders', to='refunds.refundrequest')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='Execution',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('payload_hash', models.CharField(max_length=64)),
                ('decided_at', models.DateTimeField()),
                ('idempotency_key', models.CharField(editable=False, max_length=64, unique=True)),
                ('action', models.CharField(max_length=32)),
                ('amount', models.DecimalField(decimal_places=2, max_digits=12)),
                ('currency', models.CharField(max_length=3)),
                ('backend', models.CharField(blank=True, max_length=32)),
                ('phase', models.CharField(choices=[('started', 'Started (key stored, nothing sent)'), ('provider_called', 'Provider called (outcome may be unknown)'), ('recorded', 'Recorded (finished)'), ('failed', 'Failed (nothing done; will not heal by itself)')], default='started', max_length=20)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('first_called_at', models.DateTimeField(blank=True, null=True)),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('locked_until', models.DateTimeField(blank=True, null=True)),
                ('lock_owner', models.CharField(blank=True, max_length=64)),
                ('provider_reference', models.CharField(blank=True, max_length=128, null=True)),
                ('result', models.JSONField(blank=True, default=dict)),
                ('last_error', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='executions', to='refunds.refundrequest')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'permissions': [('retry_execution', 'Can retry or close a failed execution')],
                'indexes': [models.Index(fields=['phase', 'next_attempt_at'], name='refunds_exe_phase_f84709_idx')],
                'constraints': [models.UniqueConstraint(fields=('request', 'payload_hash', 'decided_at'), name='execution_one_per_final_decision'), models.UniqueConstraint(condition=models.Q(('provider_reference__isnull', False)), fields=('backend', 'provider_reference'), name='execution_unique_provider_reference'), models.CheckConstraint(condition=models.Q(('amount__gte', 0)), name='execution_amount_not_negative')],
            },
        ),
        migrations.CreateModel(
            name='LedgerRefund',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reference', models.CharField(editable=False, max_length=40, unique=True)),
                ('idempotency_key', models.CharField(editable=False, max_length=64, unique=True)),
                ('amount', models.DecimalField(decimal_places=2, max_digits=12)),
                ('currency', models.CharField(max_length=3)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('order', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ledger_refunds', to='refunds.order')),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ledger_refunds', to='refunds.refundrequest')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'constraints': [models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='ledger_refund_amount_positive')],
            },
        ),
        migrations.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('event', models.CharField(max_length=64)),
                ('url', models.URLField(max_length=500)),
                ('payload', models.JSONField(default=dict)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('delivered', 'Delivered'), ('failed', 'Gave up')], default='pending', max_length=16)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('last_status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('last_error', models.TextField(blank=True)),
                ('delivered_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('integration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_deliveries', to='refunds.integration')),
                ('request', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='webhook_deliveries', to='refunds.refundrequest')),
            ],
            options={
                'verbose_name_plural': 'webhook deliveries',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['status', 'next_attempt_at'], name='refunds_web_status_42e4da_idx')],
            },
        ),
        migrations.RunPython(
            code=execution_schedules_forwards,
            reverse_code=execution_schedules_backwards,
        ),
    ]
