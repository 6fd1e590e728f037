using System.Collections.Immutable;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Line;
using Stepcast.Grains.Quota;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Delivery.Multicast;

/// <summary>
/// Gathers, per silo, the friends that reach the same non-personalised send step within
/// <see cref="DeliveryOptions.MulticastWindow"/>, and turns each group (at most 500) into one persisted
/// <see cref="IMulticastBatchGrain"/>, whose plan-quota budget it reserves for all members in one request. A friend
/// alone in its window, or in a group the budget cannot cover whole, is told to push instead (and reserves for itself).
/// </summary>
public sealed class MulticastCoalescer(IGrainFactory grains, TimeProvider timeProvider, IOptions<DeliveryOptions> options)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string ChannelId, string ScenarioId, int Version, string StepId), Group> _open = [];

    public bool Enabled => options.Value.MulticastWindow > TimeSpan.Zero;

    /// <summary>
    /// Joins the open group for this step (opening one if needed) and returns the batch it was sealed into, or
    /// null when the friend should push on its own.
    /// </summary>
    public Task<Guid?> EnlistAsync(
        string channelId, string lineUserId, string scenarioId, int version, string stepId, ImmutableArray<LineMessage> messages, SendPriority priority) =>
        Join(channelId, lineUserId, scenarioId, version, stepId, messages, priority).Sealed;

    /// <summary>
    /// Joins the open group for this step and answers at once with the id its batch will have, so the friend can store
    /// it with a write it makes anyway; <see cref="MulticastEnlistment.Sealed"/> then says whether the batch was formed
    /// under that id (or null: push alone). A member that cannot store the id withdraws (<see cref="Withdraw"/>).
    /// </summary>
    public MulticastEnlistment Join(
        string channelId, string lineUserId, string scenarioId, int version, string stepId, ImmutableArray<LineMessage> messages, SendPriority priority)
    {
        var key = (channelId, scenarioId, version, stepId);
        Group group;
        bool opened = false, full = false;
        lock (_gate)
        {
            if (!_open.TryGetValue(key, out group!))
            {
                group = new Group(channelId, scenarioId, version, stepId, messages, priority);
                _open[key] = group;
                opened = true;
            }

            group.Recipients.Add(lineUserId);
            if (group.Recipients.Count >= LineMulticastRequest.MaxRecipients)
            {
                _open.Remove(key);
                group.Sealing = true;
                full = true;
            }
        }

        if (full)
        {
            _ = SealAsync(group);
        }
        else if (opened)
        {
            _ = SealAfterWindowAsync(key, group);
        }

        return new MulticastEnlistment(group.BatchId, lineUserId, group.Sealed.Task);
    }

    /// <summary>
    /// Leaves a group not yet sealed, so its batch does not wait for a member that will never confirm. Once sealed the
    /// member stays listed and the batch goes without it after <see cref="DeliveryOptions.MulticastConfirmTimeout"/>.
    /// </summary>
    public void Withdraw(MulticastEnlistment enlistment)
    {
        lock (_gate)
        {
            foreach (var group in _open.Values)
            {
                if (group.BatchId == enlistment.BatchId)
                {
                    group.Recipients.Remove(enlistment.LineUserId);
                    return;
                }
            }
        }
    }

    private async Task SealAfterWindowAsync((string, string, int, string) key, Group group)
    {
        await Task.Delay(options.Value.MulticastWindow, timeProvider);
        lock (_gate)
        {
            if (group.Sealing)
            {
                // Sealed when it filled up: a second batch of the same members would be created for nothing.
                return;
            }

            group.Sealing = true;
            _open.Remove(key);
        }

        await SealAsync(group);
    }

    private async Task SealAsync(Group group)
    {
        string[] recipients;
        lock (_gate)
        {
            recipients = [.. group.Recipients];
        }

        if (recipients.Length <= 1)
        {
            // Alone, or every member withdrew: no batch to store.
            group.Sealed.TrySetResult(null);
            return;
        }

        // One reservation for the whole batch under its retry key, instead of one call per member to the channel's
        // single quota activation, which serialised a burst of thousands. A group the budget cannot cover whole is not
        // formed: its members push, each reserving for itself, so held sends keep their own order and priority.
        var retryKey = Guid.NewGuid();
        var quota = grains.GetGrainInSilo<IPlanQuotaGrain>(group.ChannelId);
        try
        {
            var decision = await quota.Reserve(new QuotaRequest
            {
                RetryKey = retryKey,
                Recipients = recipients.Length,
                Priority = group.Priority,
                DueAt = timeProvider.GetUtcNow(),
            });
            if (!decision.Granted)
            {
                group.Sealed.TrySetResult(null);
                return;
            }
        }
        catch (Exception exception)
        {
            group.Sealed.TrySetException(exception);
            return;
        }

        try
        {
            await grains.GetGrainInSilo<IMulticastBatchGrain>(group.BatchId).Create(new MulticastRequest
            {
                ChannelId = group.ChannelId,
                LineUserIds = [.. recipients],
                RetryKey = retryKey,
                Messages = group.Messages,
                ScenarioId = group.ScenarioId,
                ScenarioVersion = group.Version,
                StepId = group.StepId,
            });
            group.Sealed.TrySetResult(group.BatchId);
        }
        catch (Exception exception)
        {
            // The members fall back to pushing on their own; nothing was sent for them.
            quota.Release(retryKey).Ignore();
            group.Sealed.TrySetException(exception);
        }
    }

    private sealed class Group(string channelId, string scenarioId, int version, string stepId, ImmutableArray<LineMessage> messages, SendPriority priority)
    {
        public string ChannelId { get; } = channelId;
        public string ScenarioId { get; } = scenarioId;
        public int Version { get; } = version;
        public string StepId { get; } = stepId;
        public ImmutableArray<LineMessage> Messages { get; } = messages;
        public SendPriority Priority { get; } = priority;
        /// <summary>Chosen when the group opens: members may store it before the group is sealed.</summary>
        public Guid BatchId { get; } = Guid.NewGuid();
        public List<string> Recipients { get; } = [];
        public TaskCompletionSource<Guid?> Sealed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>Set under the coalescer's lock by whichever seals it: the window's end or the 500th member.</summary>
        public bool Sealing { get; set; }
    }
}

/// <summary>A friend's place in an open multicast group: the id its batch will have, and whether it was formed.</summary>
public sealed record MulticastEnlistment(Guid BatchId, string LineUserId, Task<Guid?> Sealed);
