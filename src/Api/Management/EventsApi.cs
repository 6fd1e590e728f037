using System.Collections.Immutable;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Members;
using Stepcast.Grains.Tenants;

namespace Stepcast.Api.Management;

/// <summary>
/// The brand's events (cart_abandoned, purchased, shipped, trial_purchased, favorited, reserved, or its own names)
/// for a friend named by LINE user id or by a linked member id. An event starts the scenarios it triggers and
/// releases runs waiting for it.
/// </summary>
public static class EventsApi
{
    public const int MaxBatch = 100;

    /// <param name="Name">The event's name: letters, digits and '_', '-', '.', ':' (up to 64), e.g. purchased.</param>
    /// <param name="LineUserId">The friend; give this or <paramref name="MemberId"/>.</param>
    /// <param name="MemberId">The brand's member id, linked to a friend through ID linking.</param>
    /// <param name="EventId">The brand's id for the event: a repeat with the same id changes nothing.</param>
    /// <param name="OccurredAt">When it happened (default: now); a scenario's validity period is checked against it.</param>
    /// <param name="Properties">What the event carried, e.g. an order id (not kept: conditions match event names).</param>
    public sealed record EventRequest(
        string? Name, string? LineUserId, string? MemberId, string? EventId, DateTimeOffset? OccurredAt, Dictionary<string, string>? Properties);

    /// <param name="Outcome"><c>accepted</c>, <c>duplicate</c> (the event id was seen) or <c>memberNotLinked</c>.</param>
    public sealed record EventResult(int Index, string Outcome, string? LineUserId, string? MemberId, string[] EnteredScenarios);

    public sealed record EventsResponse(EventResult[] Results);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow };

    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder app)
    {
        app.MapChannelResource("/events", "Events")
            .MapPost("", Post).WithName("PostEvents").RequireScope(ApiScopes.Send)
            .WithSummary("Posts one event (a JSON object) or a batch (a JSON array of up to 100)")
            .WithDescription("Each event names its friend by lineUserId or by memberId (see ID linking). The answer lists one result per event, in order; a member id without a link is reported per event, while a malformed event rejects the whole request with a problem naming its field, e.g. [2].name.")
            .Accepts<EventRequest>("application/json");
        return app;
    }

    private static async Task<Results<Ok<EventsResponse>, ValidationProblem>> Post(
        string channelId, HttpRequest request, IGrainFactory grains, TimeProvider clock)
    {
        var errors = new FieldErrors();
        var (events, batch) = await ReadAsync(request, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        for (var i = 0; i < events.Count; i++)
        {
            Validate(events[i], batch ? $"[{i}]." : "", errors);
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var now = clock.GetUtcNow();
        var results = new EventResult[events.Count];
        // One after another: a batch often holds one friend's events in order (cart_abandoned, then purchased).
        for (var i = 0; i < events.Count; i++)
        {
            results[i] = await RecordAsync(grains, channelId, events[i], i, now);
        }

        return TypedResults.Ok(new EventsResponse(results));
    }

    private static async Task<EventResult> RecordAsync(IGrainFactory grains, string channelId, EventRequest e, int index, DateTimeOffset now)
    {
        var lineUserId = e.LineUserId;
        if (lineUserId is null && await grains.GetMemberLink(channelId, e.MemberId!).Get() is { } link)
        {
            lineUserId = link.LineUserId;
        }

        if (lineUserId is null)
        {
            return new EventResult(index, "memberNotLinked", null, e.MemberId, []);
        }

        var result = await grains.GetFriend(channelId, lineUserId).RecordEvent(new FriendEventCommand
        {
            EventId = e.EventId is null ? null : $"api:{e.EventId}",
            At = e.OccurredAt ?? now,
            Name = e.Name!,
            Properties = e.Properties?.ToImmutableDictionary() ?? ImmutableDictionary<string, string>.Empty,
        });
        return new EventResult(index, result.Accepted ? "accepted" : "duplicate", lineUserId, e.MemberId, [.. result.EnteredScenarios]);
    }

    private static async Task<(List<EventRequest> Events, bool Batch)> ReadAsync(HttpRequest request, FieldErrors errors)
    {
        JsonElement body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body, Json, request.HttpContext.RequestAborted);
        }
        catch (JsonException e)
        {
            errors.Add(string.IsNullOrEmpty(e.Path) ? "$" : e.Path, "The body is not valid JSON.");
            return ([], false);
        }

        var batch = body.ValueKind == JsonValueKind.Array;
        var elements = batch ? body.EnumerateArray().ToList() : [body];
        if (body.ValueKind is not (JsonValueKind.Array or JsonValueKind.Object))
        {
            errors.Add("$", "The body must be an event object or an array of events.");
            return ([], false);
        }

        if (batch && elements.Count is 0 or > MaxBatch)
        {
            errors.Add("$", $"A batch holds 1 to {MaxBatch} events.");
            return ([], true);
        }

        var events = new List<EventRequest>(elements.Count);
        for (var i = 0; i < elements.Count; i++)
        {
            var prefix = batch ? $"[{i}]" : "";
            try
            {
                events.Add(elements[i].Deserialize<EventRequest>(Json) ?? throw new JsonException("null"));
            }
            catch (JsonException e)
            {
                var path = e.Path is { Length: > 1 } p ? p[1..] : "";
                errors.Add(string.IsNullOrEmpty(prefix + path) ? "$" : (prefix + path).TrimStart('.'), "Unknown property, or a value of the wrong type (see the EventRequest schema).");
            }
        }

        return (events, batch);
    }

    private static void Validate(EventRequest e, string prefix, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(e.Name))
        {
            errors.Add(prefix + "name", "'name' is required, e.g. purchased.");
        }
        else if (e.Name.Length > 64 || !e.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ':'))
        {
            errors.Add(prefix + "name", "'name' must be 1–64 letters, digits, '_', '-', '.' or ':'.");
        }

        if ((e.LineUserId is null) == (e.MemberId is null))
        {
            errors.Add(prefix + "lineUserId", "Give exactly one of 'lineUserId' and 'memberId'.");
        }
        else if (e.LineUserId is not null)
        {
            errors.Identifier(prefix + "lineUserId", e.LineUserId);
        }
        else
        {
            errors.Identifier(prefix + "memberId", e.MemberId);
        }

        if (e.EventId is { Length: 0 or > 100 })
        {
            errors.Add(prefix + "eventId", "'eventId' must be 1–100 characters.");
        }

        if (e.Properties is { Count: > 20 })
        {
            errors.Add(prefix + "properties", "An event carries at most 20 properties.");
        }
    }
}
