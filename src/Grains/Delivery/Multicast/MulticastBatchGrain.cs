using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Stepcast.Grains.Quota;

namespace Stepcast.Grains.Delivery.Multicast;

/// <summary>
/// One coalesced multicast. Its members are the friends the coalescer grouped; a member takes part only once it has
/// persisted this batch's id (it then calls <see cref="Deliver"/>; the embedded topology, whose state does not outlive
/// a crash, skips that write: <see cref="EngineOptions.StoreRouteBeforeSending"/>), so a friend that crashed before
/// recording the batch is never sent to by it and simply sends again on its own. The final recipient list and the retry key are
/// persisted before the first attempt: every retry, from any silo, repeats the same request.
/// </summary>
public interface IMulticastBatchGrain : IGrainWithGuidKey
{
    Task Create(MulticastRequest batch);

    /// <summary>Confirms the member and answers with the multicast's outcome for it.</summary>
    Task<DeliveryOutcome> Deliver(string lineUserId);
}

[GenerateSerializer]
public sealed class MulticastBatchState
{
    [Id(0)] public MulticastRequest? Batch { get; set; }
    /// <summary>Set once, before the first attempt: the members that confirmed in time.</summary>
    [Id(1)] public List<string>? Recipients { get; set; }
    /// <summary>Set once the outcome is final (delivered or rejected).</summary>
    [Id(2)] public DeliveryOutcome? Outcome { get; set; }
}

[Reentrant]
public sealed class MulticastBatchGrain(
    [PersistentState("batch")] IPersistentState<MulticastBatchState> state,
    IMulticastDelivery delivery,
    IOptions<DeliveryOptions> options,
    TimeProvider timeProvider) : Grain, IMulticastBatchGrain
{
    private static readonly DeliveryOutcome NotInBatch = new(DeliveryStatus.NotInBatch, "confirmed after the batch was sealed");
    private static readonly DeliveryOutcome NeverCreated = new(DeliveryStatus.NotInBatch, "the batch was never formed");

    private readonly HashSet<string> _confirmed = new(StringComparer.Ordinal);
    // Membership is asked once per member: lists of up to 500 searched each time made a batch quadratic in its size.
    private HashSet<string>? _members;
    private HashSet<string>? _recipients;
    private readonly TaskCompletionSource _sealed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _creating;
    private Task? _sealedOrTimedOut;
    private Task? _finalizing;
    private Task<DeliveryOutcome>? _sending;

    async Task IMulticastBatchGrain.Create(MulticastRequest batch)
    {
        if (state.State.Batch is not null)
        {
            return;
        }

        await (_creating ??= CreateAsync(batch));
    }

    private async Task CreateAsync(MulticastRequest batch)
    {
        try
        {
            state.State.Batch = batch;
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Batch = null;
            _creating = null;
            throw;
        }
    }

    async Task<DeliveryOutcome> IMulticastBatchGrain.Deliver(string lineUserId)
    {
        if (_creating is { } creating)
        {
            // A friend that stored this id before the group was sealed (after a crash or a hand-off) may confirm while
            // the batch is being stored: its confirmation must not start the final write beside that one (same ETag).
            await creating;
        }

        if (state.State.Batch is not { } batch)
        {
            // A friend stores its group's batch id before the group is sealed (MulticastCoalescer.Join); a group that
            // was sealed without a batch (one member) or lost with its silo never creates it, so the friend pushes.
            return NeverCreated;
        }

        if (state.State.Recipients is null)
        {
            if (!(_members ??= new HashSet<string>(batch.LineUserIds, StringComparer.Ordinal)).Contains(lineUserId))
            {
                return NotInBatch;
            }

            _confirmed.Add(lineUserId);
            if (_confirmed.Count == batch.LineUserIds.Length)
            {
                _finalizing ??= FinalizeAsync();
            }

            await WaitUntilSealedAsync();
        }

        if (!(_recipients ??= new HashSet<string>(state.State.Recipients!, StringComparer.Ordinal)).Contains(lineUserId))
        {
            return NotInBatch;
        }

        if (state.State.Outcome is { } final)
        {
            return final;
        }

        // One attempt at a time; a member arriving after a transient failure starts the next one (same key).
        var sending = _sending ??= SendAsync();
        try
        {
            return await sending;
        }
        finally
        {
            if (ReferenceEquals(_sending, sending) && sending.IsCompleted)
            {
                _sending = null;
            }
        }
    }

    /// <summary>
    /// Waits until the batch is sealed: by the last member to confirm, or by a waiting member once the confirm timeout,
    /// counted from the first, has passed. The waiting calls keep the deadline themselves, not a grain timer: the
    /// runtime stops an activation's timers as soon as it starts deactivating it (its silo stopping, or the silo that
    /// held its directory entry), then waits for the calls in progress. Members waiting for a timer that never fired
    /// held that activation for good, and every later confirmation from their silo queued behind it and timed out:
    /// acknowledged follows were never welcomed. One wait per batch, started by its first waiting member and shared by
    /// all: not a timer, nor a wait, per member.
    /// </summary>
    private Task WaitUntilSealedAsync() => _sealed.Task.IsCompleted ? _sealed.Task : _sealedOrTimedOut ??= SealByDeadlineAsync();

    private async Task SealByDeadlineAsync()
    {
        if (await Task.WhenAny(_sealed.Task, Task.Delay(options.Value.MulticastConfirmTimeout, timeProvider)) != _sealed.Task)
        {
            _finalizing ??= FinalizeAsync();
        }

        await _sealed.Task;
    }

    private async Task FinalizeAsync()
    {
        try
        {
            state.State.Recipients = [.. _confirmed.Order(StringComparer.Ordinal)];
            await state.WriteStateAsync();
            _sealed.TrySetResult();
        }
        catch (Exception exception)
        {
            // Members waiting here would wait for ever: they fail and retry, and a fresh activation reads what is stored.
            state.State.Recipients = null;
            _recipients = null;
            _sealed.TrySetException(exception);
            DeactivateOnIdle();
            throw;
        }
    }

    private async Task<DeliveryOutcome> SendAsync()
    {
        var batch = state.State.Batch! with { LineUserIds = [.. state.State.Recipients!] };
        var outcome = await delivery.MulticastAsync(batch, CancellationToken.None);
        if (outcome.Status is DeliveryStatus.Delivered or DeliveryStatus.AlreadyDelivered or DeliveryStatus.Rejected)
        {
            state.State.Outcome = outcome;
            await state.WriteStateAsync();
            // The coalescer reserved the batch's budget under its retry key; members do not settle it. Only once the
            // outcome is stored, as a friend does: a settlement lost in a crash times out into "used".
            var quota = GrainFactory.GetGrainInSilo<IPlanQuotaGrain>(batch.ChannelId);
            (outcome.Status == DeliveryStatus.Rejected
                ? quota.Release(batch.RetryKey)
                : quota.CommitRecipients(batch.RetryKey, batch.LineUserIds.Length)).Ignore();
        }

        return outcome;
    }
}
