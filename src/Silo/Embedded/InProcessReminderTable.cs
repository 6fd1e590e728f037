using System.Collections.Concurrent;
using System.Globalization;
using Orleans.Runtime;

namespace Stepcast.Silo.Embedded;

/// <summary>
/// The reminder table of the embedded topology, in this process's memory: ETags are versions unique across the table,
/// so a removal naming a stale one (even of a row removed and added again since) removes nothing.
/// </summary>
/// <remarks>
/// Orleans' in-memory reminder service keeps the table in one grain, so each friend's reminder change is a call to
/// that single grain. Embedded clustering is one process, so the table can simply live in it.
/// </remarks>
public sealed class InProcessReminderTable : IReminderTable
{
    private readonly ConcurrentDictionary<GrainId, GrainReminders> _grains = new();
    private long _lastVersion;

    public Task Init() => Task.CompletedTask;

    public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName)
    {
        ReminderEntry? entry = null;
        if (_grains.TryGetValue(grainId, out var reminders))
        {
            lock (reminders.Gate)
            {
                if (reminders.Rows.TryGetValue(reminderName, out var row))
                {
                    entry = row.ToEntry(grainId, reminderName);
                }
            }
        }

        return Task.FromResult(entry);
    }

    public Task<ReminderTableData> ReadRows(GrainId grainId) =>
        Task.FromResult(new ReminderTableData(_grains.TryGetValue(grainId, out var reminders) ? reminders.Entries(grainId) : []));

    /// <summary>The grains whose uniform hash lies in the ring range (begin, end]; begin ≥ end wraps past zero.</summary>
    public Task<ReminderTableData> ReadRows(uint begin, uint end)
    {
        var entries = new List<ReminderEntry>();
        foreach (var (grainId, reminders) in _grains)
        {
            var hash = grainId.GetUniformHashCode();
            if (begin < end ? hash > begin && hash <= end : hash > begin || hash <= end)
            {
                entries.AddRange(reminders.Entries(grainId));
            }
        }

        return Task.FromResult(new ReminderTableData(entries));
    }

    public Task<string?> UpsertRow(ReminderEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var version = Interlocked.Increment(ref _lastVersion);
        while (true)
        {
            var reminders = _grains.GetOrAdd(entry.GrainId, static _ => new GrainReminders());
            lock (reminders.Gate)
            {
                if (reminders.Retired)
                {
                    // Emptied and dropped by a removal meanwhile: add a fresh set.
                    continue;
                }

                reminders.Rows[entry.ReminderName] = new Row(entry.StartAt, entry.Period, version);
                return Task.FromResult<string?>(version.ToString(CultureInfo.InvariantCulture));
            }
        }
    }

    public Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        if (!_grains.TryGetValue(grainId, out var reminders)
            || !long.TryParse(eTag, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return Task.FromResult(false);
        }

        lock (reminders.Gate)
        {
            if (!reminders.Rows.TryGetValue(reminderName, out var row) || row.Version != version)
            {
                return Task.FromResult(false);
            }

            reminders.Rows.Remove(reminderName);
            if (reminders.Rows.Count == 0)
            {
                reminders.Retired = true;
                _grains.TryRemove(KeyValuePair.Create(grainId, reminders));
            }

            return Task.FromResult(true);
        }
    }

    public Task TestOnlyClearTable()
    {
        _grains.Clear();
        return Task.CompletedTask;
    }

    private sealed record Row(DateTime StartAt, TimeSpan Period, long Version)
    {
        public ReminderEntry ToEntry(GrainId grainId, string reminderName) => new()
        {
            GrainId = grainId,
            ReminderName = reminderName,
            StartAt = StartAt,
            Period = Period,
            ETag = Version.ToString(CultureInfo.InvariantCulture),
        };
    }

    /// <summary>One grain's reminders, guarded by <see cref="Gate"/>.</summary>
    private sealed class GrainReminders
    {
        public Lock Gate { get; } = new();

        public Dictionary<string, Row> Rows { get; } = new(StringComparer.Ordinal);

        public bool Retired { get; set; }

        public List<ReminderEntry> Entries(GrainId grainId)
        {
            lock (Gate)
            {
                return [.. Rows.Select(pair => pair.Value.ToEntry(grainId, pair.Key))];
            }
        }
    }
}
