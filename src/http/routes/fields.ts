import type { FastifyInstance } from 'fastify';
import { type FieldDefinition, STANDARD_FIELDS } from '../../assets/fields.js';
import { addServiceRoute } from '../route.js';

const DATATYPES: Record<FieldDefinition['type'], string> = { text: 'text', integer: 'number', decimal: 'decimal', datetime: 'datetime', size: 'number' };
const SORTABLE_GROUPS = new Set(['location', 'system', 'editorial', 'technical']);

/** `GET|POST /services/fieldinfo`: the field catalogue, grouped, for clients that build metadata panels. */
export function fieldRoutes(app: FastifyInstance): void {
  addServiceRoute(app, {
    url: '/services/fieldinfo',
    readOnly: true,
    methods: ['GET', 'POST'],
    handler: async () => {
      const groups = new Map<string, FieldDefinition[]>();
      for (const field of STANDARD_FIELDS) groups.set(field.group, [...(groups.get(field.group) ?? []), field]);
      return {
        fieldGroups: [...groups].map(([name, fields]) => ({
          name,
          fields: fields.map((field) => ({
            name: field.name,
            datatype: DATATYPES[field.type],
            multivalue: field.multivalue,
            editable: field.editable,
            technical: field.group === 'technical' || field.group === 'system',
            sortable: SORTABLE_GROUPS.has(field.group),
            // No predefinedValues: clients test for the member (the Assets metadata panel drew an empty pick list
            // for every field given `[]`), and Damson has no lists of predefined values.
          })),
        })),
        customFields: { prefix: 'cf_', datatype: 'text', multivalue: true, editable: true },
      };
    },
  });
}
