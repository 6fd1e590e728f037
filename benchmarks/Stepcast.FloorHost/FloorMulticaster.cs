using System.Net.Http.Json;

namespace Stepcast.FloorHost;

/// <summary>
/// The floor's coalescing: friends due within <see cref="Window"/> of each other, up to 500, go out as one LINE
/// multicast sent from the silo itself. No batch grain, no stored batch, no quota and no rate limit: what Stepcast does
/// per due friend above this floor (exactly-once bookkeeping, plan quota, history) is its own cost.
/// </summary>
public sealed class FloorMulticaster(HttpClient http, TimeProvider timeProvider)
{
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(250);

    private const int MaxRecipients = 500;

    private readonly Lock _gate = new();
    private Group? _open;

    /// <summary>Completes once the multicast that carried <paramref name="lineUserId"/> was accepted.</summary>
    public Task SendAsync(string lineUserId)
    {
        Group group;
        bool opened = false, full = false;
        lock (_gate)
        {
            if (_open is null)
            {
                _open = new Group();
                opened = true;
            }

            group = _open;
            group.Recipients.Add(lineUserId);
            if (group.Recipients.Count == MaxRecipients)
            {
                _open = null;
                full = true;
            }
        }

        if (full)
        {
            _ = SendGroupAsync(group);
        }
        else if (opened)
        {
            _ = SendAfterWindowAsync(group);
        }

        return group.Sent.Task;
    }

    private async Task SendAfterWindowAsync(Group group)
    {
        await Task.Delay(Window, timeProvider);
        lock (_gate)
        {
            if (!ReferenceEquals(_open, group))
            {
                return; // sent when it filled up
            }

            _open = null;
        }

        await SendGroupAsync(group);
    }

    private async Task SendGroupAsync(Group group)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v2/bot/message/multicast")
            {
                Content = JsonContent.Create(new
                {
                    to = group.Recipients,
                    messages = new[] { new { type = "text", text = "本日のおすすめです。 / Today's pick." } },
                }),
            };
            request.Headers.Add("X-Line-Retry-Key", Guid.NewGuid().ToString());
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            group.Sent.TrySetResult();
        }
        catch (Exception exception)
        {
            group.Sent.TrySetException(exception);
        }
    }

    private sealed class Group
    {
        public List<string> Recipients { get; } = new(MaxRecipients);
        public TaskCompletionSource Sent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
