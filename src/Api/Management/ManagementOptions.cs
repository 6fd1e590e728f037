namespace Stepcast.Api.Management;

/// <summary>The management API's settings, section <c>Stepcast:Api</c>.</summary>
public sealed class ManagementOptions
{
    public const string SectionName = "Stepcast:Api";

    /// <summary>
    /// The administrator's token, which may create tenants and their first API keys (and nothing else). Absent by
    /// default, which turns bootstrapping off. Give it from a secret store or the environment
    /// (<c>Stepcast__Api__BootstrapToken</c>), never from a file in the repository.
    /// </summary>
    public string? BootstrapToken { get; set; }
}
