using System.Collections.Immutable;
using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Tenants;

namespace Stepcast.Api.Management;

/// <summary>
/// One friend of a channel: state, LINE profile (cached), attributes, tags (adding one can start a scenario),
/// enrolments with their next due time, and history.
/// </summary>
public static class FriendsApi
{
    public sealed record FriendResponse(
        string LineUserId, string Status, string? DisplayName, DateTimeOffset? FollowedAt, DateTimeOffset? BlockedAt,
        IReadOnlyDictionary<string, string> Attributes, string[] Tags);

    public sealed record ProfileResponse(
        string LineUserId, string DisplayName, string? PictureUrl, string? StatusMessage, string? Language, DateTimeOffset FetchedAt, bool Stale);

    /// <param name="Set">Attributes (custom fields) to set, by name; names are case-insensitive.</param>
    /// <param name="Remove">Attribute names to remove.</param>
    public sealed record AttributesRequest(Dictionary<string, string>? Set, string[]? Remove);

    public sealed record TagsRequest(string[]? Tags);

    /// <param name="EnteredScenarios">Scenarios the friend entered because of the change (tag-added triggers).</param>
    public sealed record FriendChangeResponse(FriendResponse Friend, string[] EnteredScenarios);

    /// <param name="DueAt">When the run's next step is due; for a wait-for-event step, its timeout.</param>
    public sealed record EnrollmentResponse(
        string ScenarioId, int Version, string? StepId, DateTimeOffset DueAt, string? AwaitedEvent, DateTimeOffset EnteredAt, bool Suspended, string Source);

    public sealed record EnrollRequest(string? ScenarioId, string? EventId);

    public sealed record EnrollResponse(string Outcome, string? Detail);

    public sealed record HistoryItem(
        DateTimeOffset At, string Kind, string? ScenarioId, int Version, string? StepId, string? Detail);

    private const int MaxAttributes = 100;

    public static IEndpointRouteBuilder MapFriendsApi(this IEndpointRouteBuilder app)
    {
        var friends = app.MapChannelResource("/friends/{lineUserId}", "Friends");
        friends.MapGet("", Get).WithName("GetFriend").WithSummary("A friend's status, attributes and tags").RequireScope(ApiScopes.Read);
        friends.MapGet("/profile", GetProfile).WithName("GetFriendProfile").RequireScope(ApiScopes.Read)
            .WithSummary("The friend's LINE profile, cached for a day (refresh=true fetches it again)")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        friends.MapPatch("/attributes", UpdateAttributes).WithName("UpdateFriendAttributes")
            .WithSummary("Sets and removes attributes (custom fields)").RequireScope(ApiScopes.Write);
        friends.MapPost("/tags", AddTags).WithName("AddFriendTags")
            .WithSummary("Adds tags; scenarios triggered by a new tag start").RequireScope(ApiScopes.Write);
        friends.MapDelete("/tags/{tag}", RemoveTag).WithName("RemoveFriendTag").WithSummary("Removes a tag").RequireScope(ApiScopes.Write);
        friends.MapGet("/enrollments", ListEnrollments).WithName("ListFriendEnrollments")
            .WithSummary("The scenarios the friend is running, with their next due time").RequireScope(ApiScopes.Read);
        friends.MapPost("/enrollments", Enroll).WithName("EnrollFriend")
            .WithSummary("Starts a published scenario for the friend now").RequireScope(ApiScopes.Send);
        friends.MapGet("/history", History).WithName("ListFriendHistory")
            .WithSummary("What was sent, skipped or failed and why, oldest first, a page at a time").RequireScope(ApiScopes.Read);
        return app;
    }

    private static async Task<Ok<FriendResponse>> Get(string channelId, string lineUserId, IGrainFactory grains) =>
        TypedResults.Ok(ToResponse(await grains.GetFriend(channelId, lineUserId).GetSnapshot()));

    private static async Task<Results<Ok<ProfileResponse>, ProblemHttpResult>> GetProfile(
        string channelId, string lineUserId, bool? refresh, IGrainFactory grains)
    {
        var result = await grains.GetGrain<IFriendProfileGrain>(new FriendKey(channelId, lineUserId).ToString()).GetProfile(refresh ?? false);
        return result switch
        {
            { Status: FriendProfileStatus.Found, Profile: { } p } => TypedResults.Ok(ToResponse(lineUserId, p, stale: false)),
            { Status: FriendProfileStatus.Unavailable, Profile: { } p } => TypedResults.Ok(ToResponse(lineUserId, p, stale: true)),
            { Status: FriendProfileStatus.NoAccessToken } => ApiProblems.NotFound(
                "The channel has no access token (a sandbox channel), so LINE has no profile to give."),
            { Status: FriendProfileStatus.NotFound } => ApiProblems.NotFound($"LINE has no profile of '{lineUserId}' for this channel (not a friend, or blocked)."),
            _ => TypedResults.Problem($"LINE did not answer the profile request: {result.Detail}", statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "LINE unavailable"),
        };
    }

    private static async Task<Results<Ok<FriendChangeResponse>, ValidationProblem>> UpdateAttributes(
        string channelId, string lineUserId, AttributesRequest body, IGrainFactory grains)
    {
        var errors = new FieldErrors();
        if (body.Set is null && body.Remove is null)
        {
            errors.Add("set", "Give 'set', 'remove' or both.");
        }

        if (body.Set is { Count: > MaxAttributes })
        {
            errors.Add("set", $"At most {MaxAttributes} attributes at once.");
        }

        foreach (var (name, value) in body.Set ?? [])
        {
            AttributeName(errors, $"set.{name}", name);
            if (value is null || value.Length > 1000)
            {
                errors.Add($"set.{name}", "An attribute value is a string of at most 1000 characters.");
            }
        }

        for (var i = 0; i < (body.Remove?.Length ?? 0); i++)
        {
            AttributeName(errors, $"remove[{i}]", body.Remove![i]);
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var friend = grains.GetFriend(channelId, lineUserId);
        var result = await friend.UpdateProfile(new UpdateProfileCommand
        {
            SetAttributes = body.Set?.ToImmutableDictionary(StringComparer.OrdinalIgnoreCase) ?? ImmutableDictionary<string, string>.Empty,
            RemoveAttributes = [.. body.Remove ?? []],
        });
        return TypedResults.Ok(new FriendChangeResponse(ToResponse(await friend.GetSnapshot()), [.. result.EnteredScenarios]));
    }

    private static async Task<Results<Ok<FriendChangeResponse>, ValidationProblem>> AddTags(
        string channelId, string lineUserId, TagsRequest body, IGrainFactory grains)
    {
        var errors = new FieldErrors();
        if (body.Tags is not { Length: > 0 and <= 50 })
        {
            errors.Add("tags", "'tags' must list 1 to 50 tags.");
        }
        else
        {
            for (var i = 0; i < body.Tags.Length; i++)
            {
                Tag(errors, $"tags[{i}]", body.Tags[i]);
            }
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var friend = grains.GetFriend(channelId, lineUserId);
        var result = await friend.UpdateProfile(new UpdateProfileCommand { AddTags = [.. body.Tags!] });
        return TypedResults.Ok(new FriendChangeResponse(ToResponse(await friend.GetSnapshot()), [.. result.EnteredScenarios]));
    }

    private static async Task<Results<Ok<FriendChangeResponse>, ValidationProblem>> RemoveTag(
        string channelId, string lineUserId, string tag, IGrainFactory grains)
    {
        var errors = new FieldErrors();
        Tag(errors, "tag", tag);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var friend = grains.GetFriend(channelId, lineUserId);
        var result = await friend.UpdateProfile(new UpdateProfileCommand { RemoveTags = [tag] });
        return TypedResults.Ok(new FriendChangeResponse(ToResponse(await friend.GetSnapshot()), [.. result.EnteredScenarios]));
    }

    private static async Task<Ok<EnrollmentResponse[]>> ListEnrollments(string channelId, string lineUserId, IGrainFactory grains) =>
        TypedResults.Ok((await grains.GetFriend(channelId, lineUserId).GetSnapshot()).Enrollments
            .OrderBy(e => e.DueAt)
            .Select(e => new EnrollmentResponse(e.ScenarioId, e.Version, e.StepId, e.DueAt, e.AwaitedEvent, e.EnteredAt, e.Suspended, e.Source))
            .ToArray());

    private static async Task<Results<Ok<EnrollResponse>, ValidationProblem>> Enroll(
        string channelId, string lineUserId, EnrollRequest body, IGrainFactory grains, TimeProvider clock)
    {
        var errors = new FieldErrors();
        errors.Identifier("scenarioId", body.ScenarioId);
        if (body.EventId is { Length: 0 or > 100 })
        {
            errors.Add("eventId", "'eventId' must be 1–100 characters.");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var result = await grains.GetFriend(channelId, lineUserId).Enroll(new EnrollCommand
        {
            ScenarioId = body.ScenarioId!,
            At = clock.GetUtcNow(),
            Source = "api",
            EventId = body.EventId is null ? null : $"api-enroll:{body.EventId}",
        });
        var outcome = result.Outcome.ToString();
        return TypedResults.Ok(new EnrollResponse(char.ToLowerInvariant(outcome[0]) + outcome[1..], result.Detail));
    }

    /// <summary>
    /// History is bounded (oldest entries fall off), so the cursor holds the time of the last entry returned and how
    /// many entries of that same instant were returned, rather than an offset that would shift.
    /// </summary>
    private static async Task<Results<Ok<Page<HistoryItem>>, ValidationProblem>> History(
        string channelId, string lineUserId, string? cursor, int? limit, IGrainFactory grains)
    {
        var errors = new FieldErrors();
        if (!Pagination.TryRead(cursor, limit, errors, out var position, out var size))
        {
            return errors.ToProblem();
        }

        long afterTicks = long.MinValue;
        var skipAtSameInstant = 0;
        if (position is not null)
        {
            var parts = position.Split('/');
            if (parts.Length != 2 || !long.TryParse(parts[0], CultureInfo.InvariantCulture, out afterTicks)
                || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out skipAtSameInstant))
            {
                return ApiProblems.Invalid("cursor", "'cursor' is not a cursor this API returned.");
            }
        }

        var history = (await grains.GetFriend(channelId, lineUserId).GetSnapshot()).History;
        var remaining = history.OrderBy(h => h.At.UtcTicks).Where(h => h.At.UtcTicks >= afterTicks).ToList();
        var atCursorInstant = remaining.TakeWhile(h => h.At.UtcTicks == afterTicks).Count();
        var items = remaining.Skip(Math.Min(skipAtSameInstant, atCursorInstant)).Take(size + 1).ToList();
        var page = Pagination.Cut(items, size, last =>
        {
            // Entries at the last returned instant so far: those before this page plus those on it.
            var sameInstant = items.Count(h => h.At.UtcTicks == last.At.UtcTicks)
                + (last.At.UtcTicks == afterTicks ? Math.Min(skipAtSameInstant, atCursorInstant) : 0);
            return Pagination.Encode(FormattableString.Invariant($"{last.At.UtcTicks}/{sameInstant}"));
        });
        return TypedResults.Ok(new Page<HistoryItem>(
            [.. page.Items.Select(h => new HistoryItem(h.At, Camel(h.Kind.ToString()), h.ScenarioId, h.Version, h.StepId, h.Detail))],
            page.NextCursor));
    }

    private static void AttributeName(FieldErrors errors, string field, string? name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 64)
        {
            errors.Add(field, "An attribute name is 1–64 characters.");
        }
    }

    private static void Tag(FieldErrors errors, string field, string? tag)
    {
        if (string.IsNullOrWhiteSpace(tag) || tag.Length > 64)
        {
            errors.Add(field, "A tag is 1–64 characters.");
        }
    }

    private static FriendResponse ToResponse(FriendSnapshot friend) => new(
        friend.LineUserId, Camel(friend.Status.ToString()), friend.DisplayName, friend.FollowedAt, friend.BlockedAt,
        friend.Attributes, [.. friend.Tags]);

    private static ProfileResponse ToResponse(string lineUserId, FriendProfile profile, bool stale) =>
        new(lineUserId, profile.DisplayName, profile.PictureUrl, profile.StatusMessage, profile.Language, profile.FetchedAt, stale);

    private static string Camel(string name) => char.ToLowerInvariant(name[0]) + name[1..];
}
