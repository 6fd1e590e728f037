using Microsoft.AspNetCore.Http.HttpResults;
using Stepcast.Grains.Members;
using Stepcast.Grains.Tenants;

namespace Stepcast.Api.Management;

/// <summary>
/// ID linking: ties the brand's member id (its own customer account) to a friend's LINE user id, so events and
/// friend reads can name the member id the brand's systems know.
/// </summary>
public static class MembersApi
{
    public sealed record LinkRequest(string? LineUserId);

    public sealed record MemberLinkResponse(string MemberId, string LineUserId, DateTimeOffset LinkedAt);

    public static IEndpointRouteBuilder MapMembersApi(this IEndpointRouteBuilder app)
    {
        var members = app.MapChannelResource("/members", "ID linking");
        members.MapPut("/{memberId}/link", Link).WithName("LinkMember")
            .WithSummary("Links a member id to a friend's LINE user id (replacing an earlier link)").RequireScope(ApiScopes.Write);
        members.MapGet("/{memberId}/link", Get).WithName("GetMemberLink").WithSummary("The friend a member id is linked to").RequireScope(ApiScopes.Read);
        members.MapDelete("/{memberId}/link", Unlink).WithName("UnlinkMember").WithSummary("Removes a member id's link").RequireScope(ApiScopes.Write);
        return app;
    }

    private static async Task<Results<Ok<MemberLinkResponse>, ValidationProblem>> Link(
        string channelId, string memberId, LinkRequest body, IGrainFactory grains)
    {
        var errors = new FieldErrors();
        errors.Identifier("memberId", memberId);
        errors.Identifier("lineUserId", body.LineUserId);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        return TypedResults.Ok(ToResponse(await grains.GetMemberLink(channelId, memberId).Link(body.LineUserId!)));
    }

    private static async Task<Results<Ok<MemberLinkResponse>, ProblemHttpResult>> Get(string channelId, string memberId, IGrainFactory grains) =>
        await grains.GetMemberLink(channelId, memberId).Get() is { } link ? TypedResults.Ok(ToResponse(link)) : NotLinked(memberId);

    private static async Task<Results<NoContent, ProblemHttpResult>> Unlink(string channelId, string memberId, IGrainFactory grains) =>
        await grains.GetMemberLink(channelId, memberId).Unlink() ? TypedResults.NoContent() : NotLinked(memberId);

    internal static ProblemHttpResult NotLinked(string memberId) => ApiProblems.NotFound($"Member id '{memberId}' is not linked to a friend.");

    private static MemberLinkResponse ToResponse(MemberLink link) => new(link.MemberId, link.LineUserId, link.LinkedAt);
}
