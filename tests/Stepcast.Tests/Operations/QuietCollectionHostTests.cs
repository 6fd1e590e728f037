using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Stepcast.Grains.Diagnostics;
using Stepcast.Silo.Operations;
using Stepcast.Tests.Api;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Operations;

/// <summary>The embedded host runs its quiet collector, and reports each collection on its own meter.</summary>
[Collection(EmbeddedHostCollection.Name)]
public sealed class QuietCollectionHostTests
{
    [Fact]
    public async Task A_host_that_counts_as_quiet_collects_and_records_the_pause()
    {
        // Every reading counts as quiet and any bytes are worth it: the collector must collect within a few readings.
        // Readings 0.2 s apart and one collection waited for: each one pauses every test running in this process.
        await using var host = new WebApplicationFactory<Program>().WithWebHostBuilder(builder => builder
            .UseSetting($"{QuietCollectionOptions.SectionName}:QuietBelowCores", "1000")
            .UseSetting($"{QuietCollectionOptions.SectionName}:QuietFor", "00:00:00")
            .UseSetting($"{QuietCollectionOptions.SectionName}:MinimumYoungBytes", "0")
            .UseSetting($"{QuietCollectionOptions.SectionName}:SamplePeriod", "00:00:00.200"));
        // Started with its first request; the listener then sees the instruments the host has already made.
        using var client = host.CreateClient();
        var meters = host.Services.GetRequiredService<IMeterFactory>();
        var pauses = new List<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == StepcastMetrics.MeterName && instrument.Name == "stepcast.silo.quiet_collection.pause"
                && instrument.Meter.Scope == meters)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => { lock (pauses) { pauses.Add(value); } });
        listener.Start();

        var recorded = await Eventually.UntilAsync(() => Task.FromResult(Snapshot(pauses)), p => p.Count >= 1, TimeSpan.FromSeconds(20));

        Assert.All(recorded, pause => Assert.InRange(pause, 0, 5));
    }

    private static List<double> Snapshot(List<double> pauses)
    {
        lock (pauses)
        {
            return [.. pauses];
        }
    }
}
