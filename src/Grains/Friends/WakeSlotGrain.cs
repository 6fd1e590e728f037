using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Stepcast.Grains.Friends;

/// <summary>A wake slot's persisted state. [Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer]
public sealed class WakeSlotState
{
    /// <summary>The open page's ids not in <see cref="PackedLineUserIds"/> (every id in rows written before packing).</summary>
    [Id(0)] public List<string> LineUserIds { get; set; } = [];
    [Id(1)] public int SealedPages { get; set; }
    /// <summary>The open page's ids in LINE's form, 16 bytes each (see <see cref="Friends.PackedLineUserIds"/>).</summary>
    [Id(2)] public byte[]? PackedLineUserIds { get; set; }

    public static WakeSlotState Of(IdPage open, int sealedPages, bool pack)
    {
        var (text, packed) = open.Stored(pack);
        return new WakeSlotState { LineUserIds = text, SealedPages = sealedPages, PackedLineUserIds = packed };
    }

    /// <summary>The open page as stored, however it was stored.</summary>
    public IdPage OpenPage() => IdPage.Load(PackedLineUserIds, LineUserIds);
}

/// <summary>
/// Lists friends as the directory buckets do (<see cref="PagedIdList"/>), and holds one reminder for the minute. When it fires, the slot wakes
/// its friends <see cref="EngineOptions.WakeSlotConcurrency"/> at a time, each call answered once the friend has run
/// what was due or holds a wake-up of its own for it, then forgets them. A pass cut short (a crash, calls failing) is
/// repeated whole at the reminder's next tick: a friend woken twice finds nothing due the second time.
/// </summary>
[Reentrant]
[CollectionAgeLimit(Minutes = 5)]
public sealed class WakeSlotGrain(
    [PersistentState(WakeSlots.SlotStateName, StorageNames.Friends)] IPersistentState<WakeSlotState> state,
    TimeProvider timeProvider,
    IOptions<EngineOptions> engineOptions,
    ILogger<WakeSlotGrain> logger) : Grain, IWakeSlotGrain, IRemindable
{
    private const string FireReminder = "fire";

    private readonly EngineOptions _options = engineOptions.Value;
    private string _key = "";
    private string _channelId = "";
    private DateTimeOffset _slot;
    private PagedIdList _ids = null!;
    private Task? _reminderRegistered;
    private Task? _pass;
    /// <summary>The reminder period this activation registered; unknown (null) after a reactivation.</summary>
    private TimeSpan? _registeredPeriod;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _key = this.GetPrimaryKeyString();
        (_channelId, _slot) = WakeSlots.Parse(_key);
        _ids = new PagedIdList(
            WakeSlots.PageSize,
            (page, ids) => WakeSlots.Page(GrainFactory, _key, page).Store(ids),
            async (open, sealedPages) =>
            {
                state.State = WakeSlotState.Of(open, sealedPages, _options.PackLineUserIds);
                await state.WriteStateAsync();
            });
        _ids.Load(state.State.OpenPage(), state.State.SealedPages);
        return Task.CompletedTask;
    }

    async Task IWakeSlotGrain.Add(string lineUserId)
    {
        // Registered once per activation, beside the first write; a failed registration is tried again by the next add,
        // and a slot backing off from friends it could not wake is tried again within the minute for a new one.
        if (_reminderRegistered is null || _reminderRegistered.IsFaulted || _registeredPeriod != _options.ReminderRetryPeriod)
        {
            _reminderRegistered = RegisterReminderAsync();
        }

        await _ids.AddAsync(lineUserId);
        // Not the pass, if one is running: it may be waiting to wake the very friend that is adding itself (only a clock
        // far behind the others adds to a slot that is due). Its last rounds take what the open page gained meanwhile.
        await _reminderRegistered;
    }

    async Task<ImmutableArray<string>> IWakeSlotGrain.List()
    {
        var pages = await Task.WhenAll(Enumerable.Range(0, _ids.SealedPages).Select(page => WakeSlots.Page(GrainFactory, _key, page).List()));
        return [.. pages.SelectMany(ids => ids).Concat(_ids.Open).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    // Not the pass itself: a pass over tens of thousands of friends outlasts a reminder tick's call.
    Task IRemindable.ReceiveReminder(string reminderName, TickStatus status) => this.AsReference<IWakeSlotGrain>().Pass();

    Task IWakeSlotGrain.Pass()
    {
        if (_pass is null || _pass.IsCompleted)
        {
            _pass = PassOrLogAsync();
        }

        return _pass;
    }

    private Task RegisterReminderAsync()
    {
        var dueIn = _slot - timeProvider.GetUtcNow();
        _registeredPeriod = _options.ReminderRetryPeriod;
        // Orleans skips a first tick already past to the next period: a slot listed late fires a period later.
        return this.RegisterOrUpdateReminder(FireReminder, dueIn > TimeSpan.Zero ? dueIn : TimeSpan.Zero, _options.ReminderRetryPeriod);
    }

    private async Task PassOrLogAsync()
    {
        try
        {
            await PassAsync();
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Wake slot {Slot}: the pass failed; the slot fires again in {Period}", _key, await BackOffAsync());
        }
    }

    /// <summary>
    /// After a pass that left friends unwoken: the next tries come a quarter of the slot's lateness apart, at least
    /// <see cref="EngineOptions.ReminderRetryPeriod"/> and at most <see cref="EngineOptions.WakeSlotMaxRetryPeriod"/>.
    /// An outage of minutes is retried every minute; a friend that can never be woken costs a try an hour, not one a
    /// minute for good. Lateness rather than a count of failures, so a reactivated slot needs no state for it.
    /// </summary>
    private async Task<TimeSpan> BackOffAsync()
    {
        var late = timeProvider.GetUtcNow() - _slot;
        var period = TimeSpan.FromTicks(Math.Clamp(late.Ticks / 4, _options.ReminderRetryPeriod.Ticks,
            Math.Max(_options.ReminderRetryPeriod.Ticks, _options.WakeSlotMaxRetryPeriod.Ticks)));
        if (_registeredPeriod != period)
        {
            try
            {
                await this.RegisterOrUpdateReminder(FireReminder, period, period);
                _registeredPeriod = period;
            }
            catch (Exception exception)
            {
                // The reminder keeps its period: the slot is retried sooner than it need be, nothing is lost.
                logger.LogDebug(exception, "Wake slot {Slot}: backing off to {Period} failed", _key, period);
                return _registeredPeriod ?? _options.ReminderRetryPeriod;
            }
        }

        return period;
    }

    private async Task PassAsync()
    {
        if (_slot - timeProvider.GetUtcNow() is { Ticks: > 0 } early)
        {
            // A tick a moment early (timers may fire a little before their time): the pass waits for the minute.
            await Task.Delay(early, timeProvider);
        }

        var watch = Stopwatch.StartNew();
        var (done, failed) = (new HashSet<string>(StringComparer.Ordinal), new HashSet<string>(StringComparer.Ordinal));
        // The sealed pages as one stream, read a page ahead of need, so the workers stay busy across page ends.
        await WakeAsync(SealedIdsAsync(), done, failed);

        // Ids added while the pages were woken go in the following rounds.
        while (_ids.Open.Where(id => !done.Contains(id) && !failed.Contains(id)).ToList() is { Count: > 0 } added)
        {
            await WakeAsync(added.ToAsyncEnumerable(), done, failed);
        }

        if (failed.Count > 0)
        {
            await KeepOnlyAsync(failed, done);
            logger.LogWarning("Wake slot {Slot}: {Failed} of {Listed} friends could not be woken; the slot fires again in {Period}",
                _key, failed.Count, done.Count + failed.Count, await BackOffAsync());
            return;
        }

        if (await ForgetAsync(done))
        {
            logger.LogInformation("Wake slot {Slot}: woke {Count} friends in {Elapsed} ms", _key, done.Count, watch.ElapsedMilliseconds);
        }
    }

    private async IAsyncEnumerable<string> SealedIdsAsync()
    {
        var pages = _ids.SealedPages;
        var next = pages > 0 ? WakeSlots.Page(GrainFactory, _key, 0).List() : null;
        for (var page = 0; page < pages; page++)
        {
            var ids = await next!;
            next = page + 1 < pages ? WakeSlots.Page(GrainFactory, _key, page + 1).List() : null;
            foreach (var id in ids)
            {
                yield return id;
            }
        }
    }

    /// <summary>Wakes the friends of <paramref name="ids"/> a bounded number at a time, each once.</summary>
    private async Task WakeAsync(IAsyncEnumerable<string> ids, HashSet<string> done, HashSet<string> failed)
    {
        await using var source = ids.GetAsyncEnumerator();
        Task reading = Task.CompletedTask;
        // Takes the id in the same continuation that moved to it, before another worker can move on.
        async Task<string?> ReadOneAsync() => await source.MoveNextAsync() ? source.Current : null;
        async Task<string?> NextAsync()
        {
            // Workers share one enumerator; one reads at a time, the others wait for that read.
            while (!reading.IsCompleted)
            {
                await reading;
            }

            var read = ReadOneAsync();
            reading = read;
            return await read;
        }

        async Task WorkerAsync()
        {
            // Each worker continues on this activation's scheduler, so the shared sets need no locks.
            while (await NextAsync() is { } id)
            {
                if (done.Contains(id))
                {
                    continue;
                }

                try
                {
                    await GrainFactory.GetFriend(_channelId, id).Wake(_slot);
                    done.Add(id);
                    failed.Remove(id);
                }
                catch (Exception exception)
                {
                    failed.Add(id);
                    logger.LogDebug(exception, "Wake slot {Slot}: waking {LineUserId} failed", _key, id);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, _options.WakeSlotConcurrency).Select(_ => WorkerAsync()));
    }

    /// <summary>
    /// After a pass some friends failed: the slot keeps only those (and any listed since), so the next tick does not
    /// wake again the tens of thousands that answered (a friend that fails every time would otherwise cost all of them
    /// an activation a minute). The row is written before the pages go: a crash in between leaves pages it no longer names.
    /// </summary>
    private async Task KeepOnlyAsync(HashSet<string> failed, HashSet<string> done)
    {
        if (_ids.Writing is { IsCompleted: false })
        {
            // A listing arrived during the pass: rather than race its write, the next tick wakes the whole slot again.
            return;
        }

        var sealedPages = _ids.SealedPages;
        // And any listed since the pass's last round.
        var remaining = failed.Concat(_ids.Open.Where(id => !done.Contains(id))).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var open = IdPage.Load(null, remaining);
        state.State = WakeSlotState.Of(open, 0, _options.PackLineUserIds);
        await state.WriteStateAsync();
        _ids.Load(open, 0);
        await Task.WhenAll(Enumerable.Range(0, sealedPages).Select(page => WakeSlots.Page(GrainFactory, _key, page).Clear()));
    }

    /// <summary>
    /// Pages first, the slot's row next, the reminder last: a crash in between fires again over what is left. Answers
    /// false, keeping the row and the reminder, when an id arrived that the pass did not wake.
    /// </summary>
    private async Task<bool> ForgetAsync(HashSet<string> done)
    {
        if (_ids.Writing is { } writing)
        {
            await writing;
        }

        await Task.WhenAll(Enumerable.Range(0, _ids.SealedPages).Select(page => WakeSlots.Page(GrainFactory, _key, page).Clear()));
        if (_ids.Open.Any(id => !done.Contains(id)) || _ids.Writing is { IsCompleted: false })
        {
            return false;
        }

        _ids.Load(new IdPage(), 0);
        await state.ClearStateAsync();
        if (await this.GetReminder(FireReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        _reminderRegistered = null;
        DeactivateOnIdle();
        return true;
    }
}

public sealed class WakeSlotPageGrain(
    [PersistentState(WakeSlots.PageStateName, StorageNames.Friends)] IPersistentState<WakeSlotPageState> state,
    IOptions<EngineOptions> options) : Grain, IWakeSlotPageGrain
{
    async Task IWakeSlotPageGrain.Store(ImmutableArray<string> lineUserIds)
    {
        state.State = WakeSlotPageState.Of(lineUserIds, options.Value.PackLineUserIds);
        await state.WriteStateAsync();
    }

    // Read once per pass: unpacked on demand rather than kept twice in memory.
    Task<ImmutableArray<string>> IWakeSlotPageGrain.List() => Task.FromResult(state.State.Ids());

    async Task IWakeSlotPageGrain.Clear()
    {
        await state.ClearStateAsync();
        DeactivateOnIdle();
    }
}

/// <summary>[Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer]
public sealed class WakeSlotPageState
{
    /// <summary>The page's ids not in <see cref="PackedLineUserIds"/> (every id in pages written before packing).</summary>
    [Id(0)] public ImmutableArray<string> LineUserIds { get; set; } = [];
    /// <summary>The page's ids in LINE's form, 16 bytes each (see <see cref="Friends.PackedLineUserIds"/>).</summary>
    [Id(1)] public byte[]? PackedLineUserIds { get; set; }

    public static WakeSlotPageState Of(ImmutableArray<string> ids, bool pack)
    {
        var (text, packed) = IdPage.Load(null, ids).Stored(pack);
        return new WakeSlotPageState { LineUserIds = [.. text], PackedLineUserIds = packed };
    }

    /// <summary>The page's ids in ordinal order.</summary>
    public ImmutableArray<string> Ids() => [.. IdPage.Load(PackedLineUserIds, LineUserIds)];
}
