using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;

namespace Stepcast.Tests.Api;

/// <summary>
/// The embedded host's own reminder table with a log of the grains whose reminders were stored, so a test can tell a
/// reminder that came and went from one that never was.
/// </summary>
public sealed class RecordingReminderTable(IReminderTable inner) : IReminderTable
{
    private readonly ConcurrentQueue<GrainId> _stored = new();

    public IReadOnlyCollection<GrainId> Stored => _stored;

    public Task<ReminderTableData> ReadRows(GrainId grainId) => inner.ReadRows(grainId);

    public Task<ReminderTableData> ReadRows(uint begin, uint end) => inner.ReadRows(begin, end);

    public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName) => inner.ReadRow(grainId, reminderName);

    public Task<string?> UpsertRow(ReminderEntry entry)
    {
        _stored.Enqueue(entry.GrainId);
        return inner.UpsertRow(entry);
    }

    public Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag) => inner.RemoveRow(grainId, reminderName, eTag);

    public Task TestOnlyClearTable() => inner.TestOnlyClearTable();

    /// <summary>Wraps the last <see cref="IReminderTable"/> registered, from ConfigureTestServices.</summary>
    public static void Decorate(IServiceCollection services)
    {
        var registered = services.Last(service => service.ServiceType == typeof(IReminderTable));
        services.Remove(registered);
        services.AddSingleton(provider => new RecordingReminderTable(
            (IReminderTable)ActivatorUtilities.CreateInstance(provider, registered.ImplementationType!)));
        services.AddSingleton<IReminderTable>(provider => provider.GetRequiredService<RecordingReminderTable>());
    }
}
