using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;

namespace Stepcast.FakeLine;

/// <summary>
/// The LINE endpoints the fake implements. Order of checks on a send, as LINE does it: authentication, rate limit,
/// body validation, retry key, quota; then the send is recorded and answered.
/// </summary>
internal sealed class FakeLineApi(
    FakeLineOptions options,
    FakeLineDeliveryStore deliveries,
    FakeLineFaultInjector faults,
    FakeLineChannels channels,
    FakeLineStats stats)
{
    public const string MonthlyLimitMessage = "You have reached your monthly limit.";

    private readonly ConcurrentDictionary<(string Token, string RetryKey), AcceptedSend> _retryKeys = new();
    /// <summary>Reply tokens already answered, per channel: LINE accepts each token once.</summary>
    private readonly ConcurrentDictionary<(string Token, string ReplyToken), bool> _usedReplyTokens = new();
    private readonly ConcurrentDictionary<string, NarrowcastState> _narrowcasts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, IReadOnlyList<string>> _audiences = new();
    private long _messageId = 100_000_000_000_000;
    private long _audienceGroupId = 1_000_000_000;

    public IReadOnlyDictionary<long, IReadOnlyList<string>> AudienceGroups => _audiences;

    public void Reset()
    {
        _retryKeys.Clear();
        _usedReplyTokens.Clear();
        _narrowcasts.Clear();
        _audiences.Clear();
    }

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v2/bot/message/push", context => SendAsync(context, "push"));
        app.MapPost("/v2/bot/message/multicast", context => SendAsync(context, "multicast"));
        app.MapPost("/v2/bot/message/reply", context => SendAsync(context, "reply"));
        app.MapPost("/v2/bot/message/broadcast", context => SendAsync(context, "broadcast"));
        app.MapPost("/v2/bot/message/narrowcast", context => SendAsync(context, "narrowcast"));
        app.MapGet("/v2/bot/message/progress/narrowcast", context => QueryAsync(context, "progress", NarrowcastProgressAsync));
        app.MapGet("/v2/bot/profile/{userId}", context => QueryAsync(context, "profile", ProfileAsync));
        app.MapGet("/v2/bot/message/quota", context => QueryAsync(context, "quota", QuotaAsync));
        app.MapGet("/v2/bot/message/quota/consumption", context => QueryAsync(context, "consumption", ConsumptionAsync));
        app.MapPost("/v2/bot/audienceGroup/upload", context => QueryAsync(context, "audience", AudienceUploadAsync));
    }

    private async Task SendAsync(HttpContext context, string endpoint)
    {
        var requestId = NewRequestId();
        context.Response.Headers["x-line-request-id"] = requestId;
        if (!TryGetToken(context, out var token))
        {
            await UnauthorizedAsync(context);
            return;
        }

        stats.CountRequest(token, endpoint);
        if (await InjectAsync(context, endpoint, afterRecording: false))
        {
            return;
        }

        if (!channels.TryAcquireRate(token, endpoint))
        {
            stats.CountRateLimited(token, endpoint);
            context.Response.Headers.RetryAfter = "1";
            await ErrorAsync(context, 429, "Too Many Requests");
            return;
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            await ErrorAsync(context, 400, "The request body could not be parsed as JSON");
            return;
        }

        string[] sentIds;
        using (document)
        {
            var root = document.RootElement;
            var details = Validate(root, endpoint);
            if (details.Count > 0)
            {
                await ErrorAsync(context, 400, $"The request body has {details.Count} error(s)", details);
                return;
            }

            string? retryKey = context.Request.Headers["X-Line-Retry-Key"];
            if (retryKey is not null && endpoint != "reply" && !Guid.TryParse(retryKey, out _))
            {
                await ErrorAsync(context, 400, "The value for the 'X-Line-Retry-Key' header is invalid");
                return;
            }

            var recipients = Recipients(root, endpoint);
            sentIds = endpoint is "push" or "reply" ? NewMessageIds(root.GetProperty("messages").GetArrayLength()) : [];
            var keyed = retryKey is not null && endpoint != "reply";
            if (keyed && !_retryKeys.TryAdd((token, retryKey!), new AcceptedSend(requestId, sentIds)))
            {
                // LINE answers a replayed retry key with 409 and the id of the request that was accepted.
                var accepted = _retryKeys[(token, retryKey!)];
                context.Response.Headers["x-line-accepted-request-id"] = accepted.RequestId;
                await WriteAsync(context, 409, writer =>
                {
                    writer.WriteString("message", "The retry key is already accepted");
                    WriteSentMessages(writer, accepted.SentMessageIds);
                });
                return;
            }

            if (endpoint == "reply" && !_usedReplyTokens.TryAdd((token, root.GetProperty("replyToken").GetString()!), true))
            {
                // LINE's answer to a token used before (or expired); replies have no retry key to turn this into a 409.
                await ErrorAsync(context, 400, "Invalid reply token");
                return;
            }

            var count = endpoint switch
            {
                "push" => 1,
                "multicast" => recipients.Count,
                "reply" => 0,
                _ => options.BroadcastRecipientCount,
            };
            if (!channels.TryConsumeQuota(token, count))
            {
                if (keyed)
                {
                    // A request LINE refused leaves its retry key free for a later attempt.
                    _retryKeys.TryRemove((token, retryKey!), out _);
                }

                stats.CountQuotaExceeded(token, endpoint);
                await ErrorAsync(context, 429, MonthlyLimitMessage);
                return;
            }

            var now = options.TimeProvider.GetUtcNow();
            deliveries.Add(
                endpoint, token, recipients, root.GetProperty("messages").GetRawText(), keyed ? retryKey : null, requestId,
                endpoint == "reply" ? root.GetProperty("replyToken").GetString() : null, now);
            if (endpoint == "narrowcast")
            {
                _narrowcasts[requestId] = new NarrowcastState(now, count);
            }
        }

        if (await InjectAsync(context, endpoint, afterRecording: true))
        {
            return;
        }

        if (endpoint == "narrowcast")
        {
            await WriteAsync(context, 202, static _ => { });
        }
        else if (endpoint is "push" or "reply")
        {
            await WriteAsync(context, 200, writer => WriteSentMessages(writer, sentIds));
        }
        else
        {
            await WriteAsync(context, 200, static _ => { });
        }
    }

    private async Task QueryAsync(HttpContext context, string endpoint, Func<HttpContext, string, Task> handler)
    {
        context.Response.Headers["x-line-request-id"] = NewRequestId();
        if (!TryGetToken(context, out var token))
        {
            await UnauthorizedAsync(context);
            return;
        }

        stats.CountRequest(token, endpoint);
        if (await InjectAsync(context, endpoint, afterRecording: false))
        {
            return;
        }

        if (!channels.TryAcquireRate(token, endpoint))
        {
            stats.CountRateLimited(token, endpoint);
            context.Response.Headers.RetryAfter = "1";
            await ErrorAsync(context, 429, "Too Many Requests");
            return;
        }

        await handler(context, token);
    }

    private Task ProfileAsync(HttpContext context, string token)
    {
        var userId = (string)context.Request.RouteValues["userId"]!;
        return WriteAsync(context, 200, writer =>
        {
            writer.WriteString("displayName", "Friend " + userId);
            writer.WriteString("userId", userId);
            writer.WriteString("language", "ja");
        });
    }

    private Task QuotaAsync(HttpContext context, string token)
    {
        var (limit, _) = channels.GetQuota(token);
        return WriteAsync(context, 200, writer =>
        {
            if (limit is { } value)
            {
                writer.WriteString("type", "limited");
                writer.WriteNumber("value", value);
            }
            else
            {
                writer.WriteString("type", "none");
            }
        });
    }

    private Task ConsumptionAsync(HttpContext context, string token)
    {
        var (_, used) = channels.GetQuota(token);
        return WriteAsync(context, 200, writer => writer.WriteNumber("totalUsage", used));
    }

    private Task NarrowcastProgressAsync(HttpContext context, string token)
    {
        string? requestId = context.Request.Query["requestId"];
        if (string.IsNullOrEmpty(requestId))
        {
            return ErrorAsync(context, 400, "The request parameter 'requestId' is required", [new("must be specified", "requestId")]);
        }

        if (!_narrowcasts.TryGetValue(requestId, out var state))
        {
            return ErrorAsync(context, 404, "Not found");
        }

        // The fake delivers a narrowcast instantly.
        return WriteAsync(context, 200, writer =>
        {
            writer.WriteString("phase", "succeeded");
            writer.WriteNumber("successCount", state.TargetCount);
            writer.WriteNumber("failureCount", 0);
            writer.WriteNumber("targetCount", state.TargetCount);
            writer.WriteString("acceptedTime", state.AcceptedTime);
            writer.WriteString("completedTime", state.AcceptedTime);
        });
    }

    private async Task AudienceUploadAsync(HttpContext context, string token)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            await ErrorAsync(context, 400, "The request body could not be parsed as JSON");
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            var details = new List<ErrorDetail>();
            string? description = null;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("description", out var descriptionElement)
                || descriptionElement.ValueKind != JsonValueKind.String
                || string.IsNullOrEmpty(description = descriptionElement.GetString())
                || description.Length > 120)
            {
                details.Add(new("must be 1 to 120 characters", "description"));
            }

            var ids = new List<string>();
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("audiences", out var audiences))
            {
                if (audiences.ValueKind != JsonValueKind.Array || audiences.GetArrayLength() > 10_000)
                {
                    details.Add(new("must be an array of at most 10000 items", "audiences"));
                }
                else
                {
                    var index = 0;
                    foreach (var audience in audiences.EnumerateArray())
                    {
                        if (audience.ValueKind == JsonValueKind.Object
                            && audience.TryGetProperty("id", out var id)
                            && id.ValueKind == JsonValueKind.String)
                        {
                            ids.Add(id.GetString()!);
                        }
                        else
                        {
                            details.Add(new("must be specified", $"audiences[{index}].id"));
                        }

                        index++;
                    }
                }
            }

            if (details.Count > 0)
            {
                await ErrorAsync(context, 400, $"The request body has {details.Count} error(s)", details);
                return;
            }

            var audienceGroupId = Interlocked.Increment(ref _audienceGroupId);
            _audiences[audienceGroupId] = ids;
            var created = options.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
            await WriteAsync(context, 202, writer =>
            {
                writer.WriteNumber("audienceGroupId", audienceGroupId);
                writer.WriteString("createRoute", "MESSAGING_API");
                writer.WriteString("type", "UPLOAD");
                writer.WriteString("description", description);
                writer.WriteNumber("created", created);
                writer.WriteString("permission", "READ_WRITE");
                writer.WriteNumber("expireTimestamp", created + (180L * 24 * 3600));
                writer.WriteBoolean("isIfaAudience", false);
            });
        }
    }

    private static List<ErrorDetail> Validate(JsonElement root, string endpoint)
    {
        var details = new List<ErrorDetail>();
        if (root.ValueKind != JsonValueKind.Object)
        {
            details.Add(new("must be a JSON object", ""));
            return details;
        }

        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            details.Add(new("must be specified", "messages"));
        }
        else
        {
            var length = messages.GetArrayLength();
            if (length is < 1 or > 5)
            {
                details.Add(new("Size must be between 1 and 5", "messages"));
            }

            var index = 0;
            foreach (var message in messages.EnumerateArray())
            {
                if (message.ValueKind != JsonValueKind.Object
                    || !message.TryGetProperty("type", out var type)
                    || type.ValueKind != JsonValueKind.String)
                {
                    details.Add(new("must be specified", $"messages[{index}].type"));
                }
                else if (type.ValueEquals("text"u8)
                    && (!message.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String || text.GetString()!.Length == 0))
                {
                    details.Add(new("May not be empty", $"messages[{index}].text"));
                }

                index++;
            }
        }

        switch (endpoint)
        {
            case "push":
                if (!root.TryGetProperty("to", out var to) || to.ValueKind != JsonValueKind.String || to.GetString()!.Length == 0)
                {
                    details.Add(new("must be specified", "to"));
                }

                break;
            case "multicast":
                if (!root.TryGetProperty("to", out var recipients) || recipients.ValueKind != JsonValueKind.Array)
                {
                    details.Add(new("must be specified", "to"));
                }
                else if (recipients.GetArrayLength() is < 1 or > 500)
                {
                    details.Add(new("Size must be between 1 and 500", "to"));
                }
                else
                {
                    var index = 0;
                    foreach (var recipient in recipients.EnumerateArray())
                    {
                        if (recipient.ValueKind != JsonValueKind.String)
                        {
                            details.Add(new("must be a string", $"to[{index}]"));
                        }

                        index++;
                    }
                }

                break;
            case "reply":
                if (!root.TryGetProperty("replyToken", out var replyToken) || replyToken.ValueKind != JsonValueKind.String)
                {
                    details.Add(new("must be specified", "replyToken"));
                }

                break;
        }

        return details;
    }

    private static IReadOnlyList<string> Recipients(JsonElement root, string endpoint)
    {
        switch (endpoint)
        {
            case "push":
                return [root.GetProperty("to").GetString()!];
            case "multicast":
                var to = root.GetProperty("to");
                var recipients = new string[to.GetArrayLength()];
                var index = 0;
                foreach (var recipient in to.EnumerateArray())
                {
                    recipients[index++] = recipient.GetString()!;
                }

                return recipients;
            default:
                return [];
        }
    }

    private async Task<bool> InjectAsync(HttpContext context, string endpoint, bool afterRecording)
    {
        if (faults.Next(endpoint, afterRecording) is not { } fault)
        {
            return false;
        }

        if (fault.Kind == FakeLineFaultKind.Hang)
        {
            try
            {
                await Task.Delay(fault.HangDuration, options.TimeProvider, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // The client gave up, which is the point of a hang.
                return true;
            }

            await ErrorAsync(context, 500, "Internal server error (injected hang)");
            return true;
        }

        await ErrorAsync(context, fault.StatusCode, $"Injected fault {fault.StatusCode}");
        return true;
    }

    private static bool TryGetToken(HttpContext context, out string token)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        const string Bearer = "Bearer ";
        if (authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase) && authorization.Length > Bearer.Length)
        {
            token = authorization[Bearer.Length..].Trim();
            return token.Length > 0;
        }

        token = "";
        return false;
    }

    private static Task UnauthorizedAsync(HttpContext context) =>
        ErrorAsync(context, 401, "Authentication failed. Confirm that the access token in the authorization header is valid.");

    private static Task ErrorAsync(HttpContext context, int status, string message, IReadOnlyList<ErrorDetail>? details = null) =>
        WriteAsync(context, status, writer =>
        {
            writer.WriteString("message", message);
            if (details is { Count: > 0 })
            {
                writer.WriteStartArray("details");
                foreach (var detail in details)
                {
                    writer.WriteStartObject();
                    writer.WriteString("message", detail.Message);
                    writer.WriteString("property", detail.Property);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }
        });

    private static void WriteSentMessages(Utf8JsonWriter writer, string[] sentMessageIds)
    {
        if (sentMessageIds.Length == 0)
        {
            return;
        }

        writer.WriteStartArray("sentMessages");
        foreach (var id in sentMessageIds)
        {
            writer.WriteStartObject();
            writer.WriteString("id", id);
            writer.WriteString("quoteToken", "q" + id);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    /// <summary>Writes a JSON object response; <paramref name="writeProperties"/> fills in its properties.</summary>
    private static async Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> writeProperties)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private string[] NewMessageIds(int count)
    {
        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = Interlocked.Increment(ref _messageId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return ids;
    }

    private static string NewRequestId() => Guid.NewGuid().ToString("D");

    private sealed record AcceptedSend(string RequestId, string[] SentMessageIds);

    private sealed record NarrowcastState(DateTimeOffset AcceptedTime, long TargetCount);

    private sealed record ErrorDetail(string Message, string Property);
}
