"""Alerts belong to an episode of care: session numbers restart with each episode."""

from django.db import migrations, models


def attach_to_latest_episode(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Until now a client had one episode, so every alert belongs to the client's latest."""
    Alert = apps.get_model("alerts", "Alert")
    Episode = apps.get_model("clinic", "Episode")
    for alert in Alert.objects.filter(episode__isnull=True).iterator():
        episode = (
            Episode.objects.filter(client_id=alert.client_id).order_by("-opened_on", "-id").first()
        )
        if episode is not None:
            Alert.objects.filter(pk=alert.pk).update(episode=episode)
    orphans = Alert.objects.filter(episode__isnull=True).count()
    if orphans:  # every client is created with an episode; never drop an alert silently
        raise RuntimeError(f"{orphans} alert(s) belong to a client without any episode")


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0002_risk_alert_per_answer"),
        ("clinic", "0002_administration_due_by"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="episode",
            field=models.ForeignKey(
                null=True,
                on_delete=models.deletion.CASCADE,
                related_name="alerts",
                to="clinic.episode",
            ),
        ),
        migrations.RunPython(attach_to_latest_episode, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="alert",
            name="episode",
            field=models.ForeignKey(
                on_delete=models.deletion.CASCADE, related_name="alerts", to="clinic.episode"
            ),
        ),
        migrations.RemoveConstraint(model_name="alert", name="one_open_alert_per_identity"),
        migrations.RemoveConstraint(model_name="alert", name="one_risk_alert_per_answer"),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "open"), models.Q(("kind", "risk"), _negated=True)),
                fields=("episode", "kind", "rule", "instrument"),
                name="one_open_alert_per_identity",
            ),
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "risk")),
                fields=("episode", "kind", "rule", "instrument", "session_number"),
                name="one_risk_alert_per_answer",
            ),
        ),
    ]
