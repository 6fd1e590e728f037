using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Runtime;
using Stepcast.Grains.Diagnostics;
using Stepcast.Silo;
using Stepcast.Silo.Postgres;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Postgres;

/// <summary>
/// The batched reminder table against the real PostgreSQL, side by side with Orleans' ADO.NET reminder table on the
/// same rows: silos on either provider must be able to share a database.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresReminderTableTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly string _serviceId = "reminders-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<(string Kind, long Rows)> _batches = [];
    private readonly MeterListener _listener = new();
    private ServiceProvider _services = null!;
    private BatchedPostgresReminderTable _batched = null!;
    private IReminderTable _adoNet = null!;

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection().AddLogging().AddMetrics().AddSingleton<StepcastMetrics>();
        services.Configure<ClusterOptions>(options => (options.ClusterId, options.ServiceId) = ("reminder-tests", _serviceId));
        services.UseAdoNetReminderService(options => options.Configure(adoNet =>
        {
            adoNet.Invariant = PostgresOrleansExtensions.Invariant;
            adoNet.ConnectionString = postgres.ConnectionString;
        }));
        _services = services.BuildServiceProvider();
        _adoNet = _services.GetRequiredService<IReminderTable>();
        await _adoNet.StartAsync();

        var meters = _services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == "stepcast.storage.batch.rows" && instrument.Meter.Scope == meters)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, rows, tags, _) =>
        {
            lock (_batches)
            {
                _batches.Add(((string)tags[0].Value!, rows));
            }
        });
        _listener.Start();
        _batched = new BatchedPostgresReminderTable(postgres.ConnectionString, _serviceId, _services.GetRequiredService<StepcastMetrics>());
    }

    [Fact]
    public async Task Both_tables_read_and_write_the_same_rows_with_the_same_etags()
    {
        var grain = NewGrain();
        var startAt = new DateTime(2026, 11, 23, 10, 0, 0, DateTimeKind.Utc);

        var first = await _batched.UpsertRow(Entry(grain, "wake-up", startAt, TimeSpan.FromMinutes(1)));
        var seenByAdoNet = await _adoNet.ReadRow(grain, "wake-up");
        Assert.NotNull(seenByAdoNet);
        Assert.Equal(first, seenByAdoNet.ETag);
        Assert.Equal(startAt, seenByAdoNet.StartAt);
        Assert.Equal(TimeSpan.FromMinutes(1), seenByAdoNet.Period);

        var second = await _adoNet.UpsertRow(Entry(grain, "wake-up", startAt.AddDays(7), TimeSpan.FromMinutes(2)));
        Assert.NotEqual(first, second);
        var seenBatched = await _batched.ReadRow(grain, "wake-up");
        Assert.NotNull(seenBatched);
        Assert.Equal(second, seenBatched.ETag);
        Assert.Equal(startAt.AddDays(7), seenBatched.StartAt);
        Assert.Equal(TimeSpan.FromMinutes(2), seenBatched.Period);
        Assert.Equal(grain, Assert.Single((await _batched.ReadRows(grain)).Reminders).GrainId);

        // A removal names the version it last saw: the one before the ADO.NET upsert no longer matches.
        Assert.False(await _batched.RemoveRow(grain, "wake-up", first!));
        Assert.False(await _batched.RemoveRow(grain, "wake-up", "not-an-etag"));
        Assert.True(await _batched.RemoveRow(grain, "wake-up", second!));
        Assert.Null(await _adoNet.ReadRow(grain, "wake-up"));
        Assert.Null(await _batched.ReadRow(grain, "wake-up"));
        Assert.False(await _adoNet.RemoveRow(grain, "wake-up", second!));
    }

    [Fact]
    public async Task A_burst_of_upserts_shares_statements_and_every_reminder_reads_back_in_exactly_one_range_as_adonet_reads_it()
    {
        var grains = Enumerable.Range(0, 300).Select(_ => NewGrain()).ToArray();
        var startAt = new DateTime(2026, 11, 30, 1, 2, 3, DateTimeKind.Utc);

        var etags = await Task.WhenAll(grains.Select(grain => _batched.UpsertRow(Entry(grain, "wake-up", startAt, TimeSpan.FromMinutes(1)))));
        Assert.All(etags, etag => Assert.Equal("0", etag));
        var again = await Task.WhenAll(grains.Select(grain => _batched.UpsertRow(Entry(grain, "wake-up", startAt, TimeSpan.FromMinutes(1)))));
        Assert.All(again, etag => Assert.Equal("1", etag));
        var reads = await Task.WhenAll(grains.Select(grain => _batched.ReadRow(grain, "wake-up")));
        Assert.Equal(grains, reads.Select(entry => entry!.GrainId));

        List<(string Kind, long Rows)> writes;
        lock (_batches)
        {
            writes = [.. _batches.Where(batch => batch.Kind == "reminder-write")];
        }

        Assert.Equal(600, writes.Sum(batch => batch.Rows));
        Assert.True(writes.Count < 600, $"{writes.Count} statements for 600 upserts");

        // The ring cut in three at points chosen so that one range wraps past uint.MaxValue and one crosses the
        // sign of the stored hashes; together they hold every reminder once, as Orleans' own table reads them.
        uint[] cuts = [0x30000000u, 0x90000000u, 0xE0000000u];
        var mine = grains.ToHashSet();
        var seen = new List<GrainId>();
        for (var i = 0; i < cuts.Length; i++)
        {
            var (begin, end) = (cuts[i], cuts[(i + 1) % cuts.Length]);
            var batched = (await _batched.ReadRows(begin, end)).Reminders.Select(r => r.GrainId).Where(mine.Contains).Order().ToArray();
            var adoNet = (await _adoNet.ReadRows(begin, end)).Reminders.Select(r => r.GrainId).Where(mine.Contains).Order().ToArray();
            Assert.Equal(adoNet, batched);
            Assert.All(batched, grain => Assert.True(InRange(grain.GetUniformHashCode(), begin, end)));
            seen.AddRange(batched);
        }

        Assert.Equal(grains.Order(), seen.Order());
        // begin == end is the whole ring.
        Assert.Equal(300, (await _batched.ReadRows(cuts[0], cuts[0])).Reminders.Count(r => mine.Contains(r.GrainId)));
    }

    [Fact]
    public void The_reminder_table_is_batched_unless_set_and_an_unknown_value_stops_the_start_naming_the_key()
    {
        static ReminderTableStore Read(string? value) => StepcastSiloBuilderExtensions.ReminderTableFrom(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [StepcastSiloBuilderExtensions.ReminderTableKey] = value }).Build());

        Assert.Equal(ReminderTableStore.Batched, Read(null));
        Assert.Equal(ReminderTableStore.Batched, Read("batched"));
        Assert.Equal(ReminderTableStore.AdoNet, Read("adonet"));
        var error = Assert.Throws<InvalidOperationException>(() => Read("0"));
        Assert.Contains("Stepcast:Postgres:ReminderTable", error.Message);
    }

    private static bool InRange(uint hash, uint begin, uint end) =>
        begin < end ? hash > begin && hash <= end : hash > begin || hash <= end;

    private static GrainId NewGrain() => GrainId.Create("stepcast-test", "U" + Guid.NewGuid().ToString("N"));

    private static ReminderEntry Entry(GrainId grain, string name, DateTime startAt, TimeSpan period) =>
        new() { GrainId = grain, ReminderName = name, StartAt = startAt, Period = period };

    public async Task DisposeAsync()
    {
        _listener.Dispose();
        await _batched.DisposeAsync();
        await _services.DisposeAsync();
    }
}
