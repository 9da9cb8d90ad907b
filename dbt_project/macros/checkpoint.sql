{#- A post-hook (outside the transaction) for the incremental models that hold every crime.
    Their delete+insert commits without a checkpoint: the new rows are written straight to the
    file, so the write-ahead log stays under DuckDB's checkpoint threshold. At national scale
    (65 million crimes, memory limit 512MB) the uniqueness test over all crimes that follows
    then ran out of memory in three runs out of three, most likely on memory held by the
    changes not yet checkpointed; with the checkpoint it passed in three runs out of three
    (BENCHMARKS.md). A checkpoint there takes 0.3 s. Nothing on PostgreSQL. -#}
{% macro duckdb_checkpoint() -%}
    {{- 'checkpoint' if target.type == 'duckdb' else '' -}}
{%- endmacro %}
