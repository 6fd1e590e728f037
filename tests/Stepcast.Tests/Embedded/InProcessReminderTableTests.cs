using Orleans;
using Orleans.Runtime;
using Stepcast.Silo.Embedded;

namespace Stepcast.Tests.Embedded;

/// <summary>The embedded topology's reminder table, as Orleans' reminder service uses it.</summary>
public sealed class InProcessReminderTableTests
{
    private static readonly DateTime StartAt = new(2026, 11, 23, 10, 0, 0, DateTimeKind.Utc);
    private readonly InProcessReminderTable _table = new();

    [Fact]
    public async Task An_upsert_moves_the_etag_and_only_the_current_one_removes_the_row()
    {
        var grain = NewGrain();
        var first = await _table.UpsertRow(Entry(grain, "wake-up", StartAt));
        var second = await _table.UpsertRow(Entry(grain, "wake-up", StartAt.AddDays(7)));
        Assert.NotEqual(first, second);

        var row = await _table.ReadRow(grain, "wake-up");
        Assert.NotNull(row);
        Assert.Equal((StartAt.AddDays(7), TimeSpan.FromMinutes(1), second), (row.StartAt, row.Period, row.ETag));

        Assert.False(await _table.RemoveRow(grain, "wake-up", first!));
        Assert.False(await _table.RemoveRow(grain, "wake-up", "not-an-etag"));
        Assert.True(await _table.RemoveRow(grain, "wake-up", second!));
        Assert.Null(await _table.ReadRow(grain, "wake-up"));
        Assert.Empty((await _table.ReadRows(grain)).Reminders);
    }

    [Fact]
    public async Task An_etag_from_before_a_removal_does_not_remove_the_row_added_since()
    {
        var grain = NewGrain();
        var removed = await _table.UpsertRow(Entry(grain, "wake-up", StartAt));
        Assert.True(await _table.RemoveRow(grain, "wake-up", removed!));
        var current = await _table.UpsertRow(Entry(grain, "wake-up", StartAt));

        Assert.False(await _table.RemoveRow(grain, "wake-up", removed!));
        Assert.Equal(current, (await _table.ReadRow(grain, "wake-up"))?.ETag);
    }

    [Fact]
    public async Task A_grain_lists_its_own_reminders_only()
    {
        var (grain, other) = (NewGrain(), NewGrain());
        await _table.UpsertRow(Entry(grain, "wake-up", StartAt));
        await _table.UpsertRow(Entry(grain, "resume", StartAt));
        await _table.UpsertRow(Entry(other, "wake-up", StartAt));

        var names = (await _table.ReadRows(grain)).Reminders.Select(r => (r.GrainId, r.ReminderName)).Order().ToList();
        Assert.Equal([(grain, "resume"), (grain, "wake-up")], names);
    }

    [Fact]
    public async Task Ring_ranges_that_split_the_ring_list_every_reminder_exactly_once()
    {
        var grains = Enumerable.Range(0, 500).Select(_ => NewGrain()).ToArray();
        foreach (var grain in grains)
        {
            await _table.UpsertRow(Entry(grain, "wake-up", StartAt));
        }

        // Three ranges around the ring, the last wrapping past zero, as three silos would own it.
        uint[] bounds = [0x1000_0000, 0x6000_0000, 0xC000_0000];
        var listed = new List<GrainId>();
        for (var i = 0; i < bounds.Length; i++)
        {
            var (begin, end) = (bounds[i], bounds[(i + 1) % bounds.Length]);
            var rows = (await _table.ReadRows(begin, end)).Reminders;
            Assert.All(rows, row =>
            {
                var hash = row.GrainId.GetUniformHashCode();
                Assert.True(begin < end ? hash > begin && hash <= end : hash > begin || hash <= end);
            });
            listed.AddRange(rows.Select(r => r.GrainId));
        }

        Assert.Equal(grains.Order(), listed.Order());
        // A range from a point to itself is the whole ring: one silo owns everything.
        Assert.Equal(grains.Length, (await _table.ReadRows(0x1000_0000, 0x1000_0000)).Reminders.Count);
    }

    [Fact]
    public async Task Concurrent_upserts_and_removals_leave_exactly_the_rows_last_upserted()
    {
        var grains = Enumerable.Range(0, 200).Select(_ => NewGrain()).ToArray();
        await Task.WhenAll(grains.Select(grain => Task.Run(async () =>
        {
            for (var round = 0; round < 20; round++)
            {
                var etag = await _table.UpsertRow(Entry(grain, "wake-up", StartAt.AddMinutes(round)));
                if (round < 19)
                {
                    Assert.True(await _table.RemoveRow(grain, "wake-up", etag!));
                }
            }
        })));

        var rows = (await _table.ReadRows(0, 0)).Reminders;
        Assert.Equal(grains.Order(), rows.Select(r => r.GrainId).Order());
        Assert.All(rows, row => Assert.Equal(StartAt.AddMinutes(19), row.StartAt));
    }

    private static GrainId NewGrain() => GrainId.Create("stepcast-test", "U" + Guid.NewGuid().ToString("N"));

    private static ReminderEntry Entry(GrainId grain, string name, DateTime startAt) =>
        new() { GrainId = grain, ReminderName = name, StartAt = startAt, Period = TimeSpan.FromMinutes(1) };
}
