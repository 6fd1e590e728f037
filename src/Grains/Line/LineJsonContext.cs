using System.Text.Json.Serialization;

namespace Stepcast.Grains.Line;

/// <summary>
/// Source-generated (de)serialisation of every body the client sends or reads: no reflection on the send path, and
/// camelCase names as the LINE OpenAPI specs spell them. Nulls are omitted because LINE rejects some explicit nulls.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LinePushRequest))]
[JsonSerializable(typeof(LineMulticastRequest))]
[JsonSerializable(typeof(LineReplyRequest))]
[JsonSerializable(typeof(LineBroadcastRequest))]
[JsonSerializable(typeof(LineNarrowcastRequest))]
[JsonSerializable(typeof(LineAudienceUploadBody))]
[JsonSerializable(typeof(LineErrorBody))]
[JsonSerializable(typeof(LineSentMessagesBody))]
[JsonSerializable(typeof(LineProfile))]
[JsonSerializable(typeof(LineMessageQuota))]
[JsonSerializable(typeof(LineQuotaConsumption))]
[JsonSerializable(typeof(LineNarrowcastProgress))]
[JsonSerializable(typeof(LineAudienceGroup))]
internal sealed partial class LineJsonContext : JsonSerializerContext;

/// <summary>LINE's error response (<c>ErrorResponse</c> in messaging-api.yml).</summary>
internal sealed record LineErrorBody(string? Message, LineErrorDetail[]? Details, LineSentMessage[]? SentMessages);

/// <summary>The success body of push and reply.</summary>
internal sealed record LineSentMessagesBody(LineSentMessage[]? SentMessages);

/// <summary>Wire shape of <see cref="LineCreateAudienceGroupRequest"/> (<c>CreateAudienceGroupRequest</c> in manage-audience.yml).</summary>
internal sealed record LineAudienceUploadBody(
    string Description,
    bool IsIfaAudience,
    string? UploadDescription,
    LineAudienceUploadBody.Audience[] Audiences)
{
    internal sealed record Audience(string Id);
}
