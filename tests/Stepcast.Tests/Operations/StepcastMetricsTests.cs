using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Diagnostics;

namespace Stepcast.Tests.Operations;

/// <summary>The engine's instruments, read back through a <see cref="MeterListener"/> as an exporter would.</summary>
public sealed class StepcastMetricsTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().AddSingleton<StepcastMetrics>().BuildServiceProvider();
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = [];
    private StepcastMetrics Metrics => _services.GetRequiredService<StepcastMetrics>();

    public StepcastMetricsTests()
    {
        var metrics = Metrics;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Only this provider's meter: other tests' hosts in the same process publish a "Stepcast" meter too.
            if (instrument.Meter.Name == StepcastMetrics.MeterName && instrument.Meter.Scope == _services.GetRequiredService<IMeterFactory>())
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
        GC.KeepAlive(metrics);
    }

    [Fact]
    public void Quota_gauges_report_the_latest_used_and_remaining_messages_of_each_channel()
    {
        Metrics.ReportQuota("channel-a", used: 100, limit: 1_000);
        Metrics.ReportQuota("channel-b", used: 5_000, limit: 5_000);
        Metrics.ReportQuota("channel-a", used: 250, limit: 1_000);

        _listener.RecordObservableInstruments();

        Assert.Equal(250, Single("stepcast.quota.used", "channel", "channel-a"));
        Assert.Equal(750, Single("stepcast.quota.remaining", "channel", "channel-a"));
        Assert.Equal(5_000, Single("stepcast.quota.used", "channel", "channel-b"));
        Assert.Equal(0, Single("stepcast.quota.remaining", "channel", "channel-b"));
    }

    [Fact]
    public void Over_quota_reports_nothing_remaining_rather_than_a_negative_count()
    {
        Metrics.ReportQuota("channel-a", used: 1_200, limit: 1_000);

        _listener.RecordObservableInstruments();

        Assert.Equal(0, Single("stepcast.quota.remaining", "channel", "channel-a"));
    }

    [Fact]
    public void Sends_and_webhook_events_are_counted_by_outcome()
    {
        Metrics.Sent(DeliveryStatus.Delivered);
        Metrics.Sent(DeliveryStatus.QuotaExhausted);
        Metrics.WebhookEvents("accepted", 3);
        Metrics.WebhookEvents("duplicate", 0);

        Assert.Equal(1, Single("stepcast.sends", "outcome", "delivered"));
        Assert.Equal(1, Single("stepcast.sends", "outcome", "quota_exhausted"));
        Assert.Equal(3, Single("stepcast.webhook.events", "outcome", "accepted"));
        Assert.DoesNotContain(_measurements, m => m.Instrument == "stepcast.webhook.events" && (string?)m.Tags["outcome"] == "duplicate");
    }

    [Fact]
    public void Permit_waits_are_recorded_by_api_and_outcome_and_each_line_reports_its_waiting_sends()
    {
        Metrics.PermitWaited("push", TimeSpan.FromMilliseconds(250), granted: true);
        Metrics.PermitWaited("multicast", TimeSpan.FromSeconds(5), granted: false);
        Metrics.ObservePermitLines(() => [new PermitLine("channel-a", "push", 7), new PermitLine("channel-b", "push", 0)]);

        _listener.RecordObservableInstruments();

        var waits = _measurements.Where(m => m.Instrument == "stepcast.rate_limit.wait").ToList();
        Assert.Equal([(0.25, "push", "granted"), (5.0, "multicast", "gave_up")],
            waits.Select(m => (m.Value, (string)m.Tags["api"]!, (string)m.Tags["outcome"]!)));
        Assert.Equal(7, Single("stepcast.rate_limit.waiting", "channel", "channel-a"));
        Assert.Equal(0, Single("stepcast.rate_limit.waiting", "channel", "channel-b"));
    }

    [Fact]
    public void Reminder_lag_is_recorded_in_seconds_and_friend_activations_go_up_and_down()
    {
        Metrics.ReminderLag(TimeSpan.FromMilliseconds(1500));
        Metrics.FriendActivated();
        Metrics.FriendActivated();
        Metrics.FriendDeactivated();

        Assert.Equal(1.5, Assert.Single(_measurements, m => m.Instrument == "stepcast.reminder.lag").Value);
        Assert.Equal(1, _measurements.Where(m => m.Instrument == "stepcast.friends.active").Sum(m => m.Value));
    }

    public void Dispose()
    {
        _listener.Dispose();
        _services.Dispose();
    }

    private double Single(string instrument, string tag, string value) =>
        Assert.Single(_measurements, m => m.Instrument == instrument && Equals(m.Tags.GetValueOrDefault(tag), value)).Value;

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        lock (_measurements)
        {
            _measurements.Add((instrument.Name, value, copy));
        }
    }
}
