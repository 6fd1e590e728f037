using System.Collections.Immutable;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Line;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Delivery.Multicast;

/// <summary>
/// Gathers, per silo, the friends that reach the same non-personalised send step within
/// <see cref="DeliveryOptions.MulticastWindow"/>, and turns each group (at most 500) into one persisted
/// <see cref="IMulticastBatchGrain"/>. A friend alone in its window is told to push instead.
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
    public async Task<Guid?> EnlistAsync(
        string channelId, string lineUserId, string scenarioId, int version, string stepId, ImmutableArray<LineMessage> messages)
    {
        var key = (channelId, scenarioId, version, stepId);
        Group group;
        bool opened = false, full = false;
        lock (_gate)
        {
            if (!_open.TryGetValue(key, out group!))
            {
                group = new Group(channelId, scenarioId, version, stepId, messages);
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

        return await group.Sealed.Task;
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

        if (recipients.Length == 1)
        {
            group.Sealed.TrySetResult(null);
            return;
        }

        try
        {
            var batchId = Guid.NewGuid();
            await grains.GetGrain<IMulticastBatchGrain>(batchId).Create(new MulticastRequest
            {
                ChannelId = group.ChannelId,
                LineUserIds = [.. recipients],
                RetryKey = Guid.NewGuid(),
                Messages = group.Messages,
                ScenarioId = group.ScenarioId,
                ScenarioVersion = group.Version,
                StepId = group.StepId,
            });
            group.Sealed.TrySetResult(batchId);
        }
        catch (Exception exception)
        {
            // The members fall back to pushing on their own; nothing was sent for them.
            group.Sealed.TrySetException(exception);
        }
    }

    private sealed class Group(string channelId, string scenarioId, int version, string stepId, ImmutableArray<LineMessage> messages)
    {
        public string ChannelId { get; } = channelId;
        public string ScenarioId { get; } = scenarioId;
        public int Version { get; } = version;
        public string StepId { get; } = stepId;
        public ImmutableArray<LineMessage> Messages { get; } = messages;
        public List<string> Recipients { get; } = [];
        public TaskCompletionSource<Guid?> Sealed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>Set under the coalescer's lock by whichever seals it: the window's end or the 500th member.</summary>
        public bool Sealing { get; set; }
    }
}
